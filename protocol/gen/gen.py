#!/usr/bin/env python3
"""Generate the C codecs in src/proto/gen/ from protocol/messages/*.def.

Usage: python3 protocol/gen/gen.py [--out DIR]

Reads protocol/messages/*.def (format: see protocol/import/import.py) and
protocol/errors.def, and writes into DIR (default src/proto/gen):

  <api>.c/.h        request + response codecs of one API key
  headers.c/.h      request header v0-v2, response header v0-v1
  data.c/.h         coordinator records and other data-type messages
  api_table.def     SL_API(key, Name, snake_name, min_v, max_v, first_flex)
  api_table.c/.h    codec tables (void * entry points) for tests and fuzzers
  error_codes.def   SL_ERRCODE(code, NAME, retriable)
  .gitattributes    marks the folder linguist-generated

Every file is run through clang-format (required, version 14) with the
repository's .clang-format, so the output is byte-for-byte reproducible.
Standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INF = 1 << 15

C_KEYWORDS = {
    'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do',
    'double', 'else', 'enum', 'extern', 'float', 'for', 'goto', 'if',
    'inline', 'int', 'long', 'register', 'restrict', 'return', 'short',
    'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef', 'union',
    'unsigned', 'void', 'volatile', 'while', 'bool', 'true', 'false',
}

# JSON primitive type -> (C type, wire suffix, sl_pt_e kind, fixed size)
PRIMS = {
    'bool': ('bool', 'bool', 'SL_PT_BOOL', 1),
    'int8': ('int8_t', 'i8', 'SL_PT_I8', 1),
    'int16': ('int16_t', 'i16', 'SL_PT_I16', 2),
    'uint16': ('uint16_t', 'u16', 'SL_PT_U16', 2),
    'int32': ('int32_t', 'i32', 'SL_PT_I32', 4),
    'uint32': ('uint32_t', 'u32', 'SL_PT_U32', 4),
    'int64': ('int64_t', 'i64', 'SL_PT_I64', 8),
    'float64': ('double', 'f64', 'SL_PT_F64', 8),
    'uuid': ('sl_uuid_t', 'uuid', 'SL_PT_UUID', 16),
}
VARS = {'string', 'bytes', 'records'}


def snake(name):
    s = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', name)
    s = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', s)
    return s.lower()


def cname(name):
    s = snake(name)
    return s + '_' if s in C_KEYWORDS else s


def parse_range(r):
    if r == 'none':
        return None
    if r.endswith('+'):
        return (int(r[:-1]), INF)
    if '-' in r:
        lo, hi = r.split('-')
        return (int(lo), int(hi))
    return (int(r), int(r))


# ---- definition parsing --------------------------------------------------


class Field:
    def __init__(self, name, type_, attrs):
        self.name = name
        self.type = type_
        self.versions = parse_range(attrs.get('versions', 'none'))
        self.nullable = parse_range(attrs.get('nullable', 'none'))
        self.tagged = parse_range(attrs.get('tagged', 'none'))
        self.tag = int(attrs['tag']) if 'tag' in attrs else None
        self.flexible = attrs.get('flexible')
        self.default = attrs.get('default')
        self.children = []
        self.c = cname(name)

    @property
    def is_array(self):
        return self.type.startswith('[]')

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self):
        e = self.elem
        return e not in PRIMS and e not in VARS


class Msg:
    def __init__(self, name, attrs, path):
        self.name = name
        self.kind = attrs['kind']
        self.api = int(attrs['api']) if 'api' in attrs else None
        self.valid = parse_range(attrs['valid'])
        self.flex = parse_range(attrs['flexible'])
        self.fields = []
        self.common = {}
        self.path = path


def tokenize_attrs(rest):
    attrs = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', rest):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1]
        attrs[m.group(1)] = v
    return attrs


def parse_def(path):
    msg = None
    stack = []  # (indent, field list)
    with open(path, encoding='utf-8') as fh:
        for line in fh:
            line = line.rstrip('\n')
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip(' '))
            text = line.strip()
            if indent == 0:
                kw, name, rest = (text.split(' ', 2) + [''])[:3]
                if kw == 'message':
                    msg = Msg(name, tokenize_attrs(rest), path)
                    stack = [(0, msg.fields)]
                elif kw == 'struct':
                    fl = []
                    msg.common[name] = fl
                    stack = [(0, fl)]
                else:
                    raise SystemExit('%s: bad line %r' % (path, line))
                continue
            m = re.match(r'(\w+): (\S+)\s*(.*)$', text)
            if not m:
                raise SystemExit('%s: bad field %r' % (path, line))
            f = Field(m.group(1), m.group(2), tokenize_attrs(m.group(3)))
            while stack[-1][0] >= indent:
                stack.pop()
            stack[-1][1].append(f)
            stack.append((indent, f.children))
    return msg


# ---- C emission helpers -------------------------------------------------


class Struct:
    """One C struct type: the message body or a nested struct."""

    def __init__(self, cprefix, fields, top):
        self.cprefix = cprefix  # e.g. sl_msg_produce_req or ..._topic_data
        self.fields = fields
        self.top = top

    @property
    def ctype(self):
        return self.cprefix + '_t'


class Gen:
    """Generates the code of one message (request, response, header, data)."""

    def __init__(self, msg, prefix):
        self.msg = msg
        self.prefix = prefix
        self.vlo, self.vhi = msg.valid
        self.flex_lo = msg.flex[0] if msg.flex else None
        self.has_flex = (self.flex_lo is not None and self.flex_lo <= self.vhi)
        self.structs = {}  # struct name -> Struct
        self.order = []  # structs in dependency order (leaves first)
        self.top = Struct(prefix, msg.fields, True)
        self.collect(msg.fields)
        self.order.append(self.top)

    # struct discovery
    def struct_fields(self, f):
        if f.children:
            return f.children
        if f.elem in self.msg.common:
            return self.msg.common[f.elem]
        raise SystemExit('%s: unknown type %s' % (self.msg.path, f.type))

    def struct_of(self, f):
        return self.structs[f.elem]

    def collect(self, fields):
        for f in fields:
            if not f.is_struct:
                continue
            sf = self.struct_fields(f)
            if f.elem in self.structs:
                if f.children and self.structs[f.elem].fields is not f.children:
                    if [x.name for x in f.children] != \
                            [x.name for x in self.structs[f.elem].fields]:
                        raise SystemExit('%s: struct %s defined twice' %
                                         (self.msg.path, f.elem))
                continue
            st = Struct(self.prefix + '_' + snake(f.elem), sf, False)
            self.structs[f.elem] = st
            self.collect(sf)
            self.order.append(st)
        names = {f.c for f in fields}
        for f in fields:
            for suffix in ('_count', '_present'):
                if f.c + suffix in names:
                    raise SystemExit('%s: name clash %s%s' %
                                     (self.msg.path, f.c, suffix))

    # version conditions
    def clip(self, r):
        if r is None:
            return None
        lo, hi = max(r[0], self.vlo), min(r[1], self.vhi)
        return (lo, hi) if lo <= hi else None

    def cond(self, r, ctx=None):
        """C condition for v in range r, given that v is known to be in ctx
        (default: the valid versions). '1' when always, None if never."""
        lo0, hi0 = ctx if ctx is not None else (self.vlo, self.vhi)
        r = self.clip(r)
        if r is None:
            return None
        lo, hi = max(r[0], lo0), min(r[1], hi0)
        if lo > hi:
            return None
        parts = []
        if lo > lo0:
            parts.append('v >= %d' % lo)
        if hi < hi0:
            parts.append('v <= %d' % hi)
        return ' && '.join(parts) if parts else '1'

    def tag_ctx(self):
        return (max(self.flex_lo, self.vlo), self.vhi)

    def field_ctx(self, f):
        """Versions in which the field's code runs."""
        if f.tagged is not None:
            r = self.clip(f.tagged)
            return (max(r[0], self.flex_lo), r[1]) if r else None
        return self.clip(f.versions)

    def flex_expr(self):
        if not self.has_flex:
            return 'false'
        if self.flex_lo <= self.vlo:
            return 'true'
        return 'v >= %d' % self.flex_lo

    def positional(self, f):
        """Version range where the field is positional (not tagged)."""
        if f.tagged is not None:
            return None
        return f.versions

    # per-field pieces ----------------------------------------------------
    def null_expr(self, f, tagged):
        """C expression: may the field be null at version v?"""
        ctx = self.field_ctx(f)
        c = self.cond(f.nullable, ctx) if ctx else None
        if c is None:
            return 'false'
        return 'true' if c == '1' else '(%s)' % c

    def field_flex(self, f, flex):
        if f.flexible == 'none':
            return 'false'
        return flex

    def decl(self, f):
        x = f.c
        if f.is_array:
            if f.is_struct:
                t = self.struct_of(f).ctype
            elif f.elem in PRIMS:
                t = PRIMS[f.elem][0]
            elif f.elem == 'string':
                t = 'sl_str_t'
            else:
                raise SystemExit('unsupported array type ' + f.type)
            return ['%s *%s;' % (t, x), 'int32_t %s_count;' % x]
        if f.is_struct:
            out = ['%s %s;' % (self.struct_of(f).ctype, x)]
            if self.needs_present(f):
                out.append('bool %s_present;' % x)
            return out
        if f.type in PRIMS:
            return ['%s %s;' % (PRIMS[f.type][0], x)]
        if f.type == 'string':
            return ['sl_str_t %s;' % x]
        return ['sl_bytes_t %s;' % x]

    def field_doc(self, f):
        def rng(r):
            r = self.clip(r)
            if r is None:
                return 'none'
            if r[1] == self.vhi:
                return 'v%d+' % r[0]
            return 'v%d' % r[0] if r[0] == r[1] else 'v%d-%d' % r
        parts = []
        if f.tagged is not None:
            parts.append('tag %d, %s' % (f.tag, rng(f.tagged)))
        else:
            parts.append(rng(f.versions))
        if f.nullable is not None and self.clip(f.nullable):
            parts.append('nullable %s' % rng(f.nullable))
        if f.default is not None:
            parts.append('default %s' % (f.default if f.default != '' else '""'))
        return ', '.join(parts)

    def needs_present(self, f):
        return f.is_struct and not f.is_array and (
            f.tagged is not None or f.nullable is not None)

    def default_value(self, f):
        d = f.default
        if f.type in PRIMS:
            if d is None or d == '':
                return None
            if f.type == 'bool':
                return 'true' if d == 'true' else None
            if f.type == 'float64':
                return d if d not in ('0', '0.0') else None
            if f.type == 'uuid':
                return None
            v = int(d, 0)
            if v == 0:
                return None
            if f.type == 'int64' and v == -(1 << 63):
                return 'INT64_MIN'
            if f.type == 'int32' and v == -(1 << 31):
                return 'INT32_MIN'
            if f.type.startswith('u'):
                return '%dU' % v
            return str(v)
        return d

    def init_lines(self, f, m):
        x = '%s->%s' % (m, f.c)
        d = f.default
        if f.is_array:
            if d == 'null':
                return ['%s_count = -1;' % x]
            return []
        if f.is_struct:
            out = ['%s_init(&%s);' % (self.struct_of(f).cprefix, x)]
            if self.needs_present(f):
                present = f.tagged is None and d != 'null'
                if present:
                    out.append('%s_present = true;' % x)
            return out
        if f.type in PRIMS:
            dv = self.default_value(f)
            return ['%s = %s;' % (x, dv)] if dv is not None else []
        if f.type == 'records':
            return ['%s.len = -1;' % x]
        if d == 'null':
            return ['%s.len = -1;' % x]
        if f.type == 'string' and d:
            return ['%s = sl_str_lit("%s");' % (x, d.replace('"', '\\"'))]
        return []

    def is_set(self, f, x):
        """C expression true when a tagged field must be written."""
        if f.is_struct and not f.is_array:
            return '%s_present' % x
        return '!(%s)' % self.is_default(f, x)

    def is_default(self, f, x):
        """C expression true when the field equals its default (tagged)."""
        d = f.default
        if f.is_array:
            return '%s_count %s 0' % (x, '<' if d == 'null' else '==')
        if f.is_struct:
            return '!%s_present' % x
        if f.type == 'uuid':
            return 'sl_uuid_eq(&%s, &(sl_uuid_t){{0}})' % x
        if f.type in PRIMS:
            dv = self.default_value(f) or ('false' if f.type == 'bool' else '0')
            if f.type == 'float64':
                return 'sl_f64_eq(%s, %s)' % (x, dv)
            return '%s == %s' % (x, dv)
        if d == 'null' or f.type == 'records':
            return '%s.len < 0' % x
        if f.type == 'string' and d:
            return 'sl_str_eq(%s, sl_str_lit("%s"))' % (x, d)
        return '%s.len == 0' % x

    def decode_lines(self, f, rd, flex, m, tagged=False):
        x = '%s->%s' % (m, f.c)
        fl = self.field_flex(f, flex)
        nul = self.null_expr(f, tagged)
        if f.is_array:
            if f.is_struct:
                st = self.struct_of(f)
                return [
                    '{',
                    'int32_t i, n = sl_rd_array_len(%s, %s, %s);' % (rd, fl, nul),
                    '%s = sl_rd_alloc(%s, a, n, sizeof(*%s));' % (x, rd, x),
                    '%s_count = %s == NULL && n > 0 ? 0 : n;' % (x, x),
                    'for (i = 0; %s != NULL && i < n && sl_rd_error(%s) == SL_OK; i++) {' % (x, rd),
                    '%s_init(&%s[i]);' % (st.cprefix, x),
                    '%s_decode(%s, v, a, &%s[i]);' % (st.cprefix, rd, x),
                    '}',
                    '}',
                ]
            kind = 'SL_PT_STRING' if f.elem == 'string' else PRIMS[f.elem][2]
            return ['%s = sl_rd_parr(%s, %s, %s, a, %s, &%s_count);' %
                    (x, rd, fl, nul, kind, x)]
        if f.is_struct:
            st = self.struct_of(f)
            out = []
            if f.nullable is not None or f.tagged is not None:
                if nul != 'false':
                    if tagged:
                        out.append('{ int8_t mk; sl_rd_i8(%s, &mk); %s_present = mk > 0; }'
                                   % (rd, x) if nul == 'true' else
                                   '%s_present = true; if (%s) { int8_t mk; sl_rd_i8(%s, &mk); %s_present = mk > 0; }'
                                   % (x, nul, rd, x))
                    else:
                        out.append('%s_present = %s ? sl_rd_struct_marker(%s) : true;' % (x, nul, rd)
                                   if nul != 'true' else
                                   '%s_present = sl_rd_struct_marker(%s);' % (x, rd))
                else:
                    out.append('%s_present = true;' % x)
                out.append('if (%s_present) {' % x)
                out.append('%s_decode(%s, v, a, &%s);' % (st.cprefix, rd, x))
                out.append('}')
                return out
            return ['%s_decode(%s, v, a, &%s);' % (st.cprefix, rd, x)]
        if f.type in PRIMS:
            return ['sl_rd_%s(%s, &%s);' % (PRIMS[f.type][1], rd, x)]
        if f.type == 'string':
            return ['sl_rd_string(%s, %s, %s, &%s);' % (rd, fl, nul, x)]
        return ['sl_rd_bytes(%s, %s, %s, &%s);' % (rd, fl, nul, x)]

    def size_lines(self, f, acc, flex, m, tagged=False):
        x = '%s->%s' % (m, f.c)
        fl = self.field_flex(f, flex)
        nul = self.null_expr(f, tagged)
        if f.is_array:
            if f.is_struct:
                st = self.struct_of(f)
                return [
                    '%s += sl_size_array_len(%s, %s, %s_count);' % (acc, fl, nul, x),
                    'for (int32_t i = 0; i < %s_count; i++) {' % x,
                    '%s += %s_size(&%s[i], v);' % (acc, st.cprefix, x),
                    '}',
                ]
            kind = 'SL_PT_STRING' if f.elem == 'string' else PRIMS[f.elem][2]
            return ['%s += sl_size_parr(%s, %s, %s, %s, %s_count);' %
                    (acc, fl, nul, kind, x, x)]
        if f.is_struct:
            st = self.struct_of(f)
            if f.nullable is not None or f.tagged is not None:
                out = []
                if nul != 'false':
                    out.append('%s += (%s) ? 1 : 0;' % (acc, nul) if nul != 'true'
                               else '%s += 1;' % acc)
                out.append('if (%s_present) {' % x)
                out.append('%s += %s_size(&%s, v);' % (acc, st.cprefix, x))
                out.append('}')
                return out
            return ['%s += %s_size(&%s, v);' % (acc, st.cprefix, x)]
        if f.type in PRIMS:
            return ['%s += %d;' % (acc, PRIMS[f.type][3])]
        if f.type == 'string':
            return ['%s += sl_size_string(%s, %s, %s);' % (acc, fl, nul, x)]
        return ['%s += sl_size_bytes(%s, %s, %s);' % (acc, fl, nul, x)]

    def encode_lines(self, f, wr, flex, m, tagged=False):
        x = '%s->%s' % (m, f.c)
        fl = self.field_flex(f, flex)
        nul = self.null_expr(f, tagged)
        if f.is_array:
            if f.is_struct:
                st = self.struct_of(f)
                return [
                    'sl_wr_array_len(%s, %s, %s, %s_count);' % (wr, fl, nul, x),
                    'for (int32_t i = 0; i < %s_count; i++) {' % x,
                    '%s_encode(%s, v, &%s[i]);' % (st.cprefix, wr, x),
                    '}',
                ]
            kind = 'SL_PT_STRING' if f.elem == 'string' else PRIMS[f.elem][2]
            return ['sl_wr_parr(%s, %s, %s, %s, %s, %s_count);' %
                    (wr, fl, nul, kind, x, x)]
        if f.is_struct:
            st = self.struct_of(f)
            if f.nullable is not None or f.tagged is not None:
                out = []
                mk = '1' if tagged else '%s_present ? 1 : -1' % x
                if nul != 'false':
                    out.append('if (%s) {' % nul if nul != 'true' else '{')
                    out.append('sl_wr_i8(%s, %s);' % (wr, mk))
                    out.append('}')
                out.append('if (%s_present) {' % x)
                out.append('%s_encode(%s, v, &%s);' % (st.cprefix, wr, x))
                out.append('}')
                return out
            return ['%s_encode(%s, v, &%s);' % (st.cprefix, wr, x)]
        if f.type == 'uuid':
            return ['sl_wr_uuid(%s, &%s);' % (wr, x)]
        if f.type in PRIMS:
            return ['sl_wr_%s(%s, %s);' % (PRIMS[f.type][1], wr, x)]
        if f.type == 'string':
            return ['sl_wr_string(%s, %s, %s, %s);' % (wr, fl, nul, x)]
        return ['sl_wr_bytes(%s, %s, %s, %s);' % (wr, fl, nul, x)]

    def eq_lines(self, f):
        return [re.sub(r'^if \((.*)\) return false;$', r'if (\1) {\nreturn false;\n}', l)
                for l in self.eq_lines_raw(f)]

    def eq_lines_raw(self, f):
        x, y = 'x->' + f.c, 'y->' + f.c
        if f.is_array:
            if f.is_struct:
                st = self.struct_of(f)
                return [
                    'if (%s_count != %s_count) return false;' % (x, y),
                    'for (int32_t i = 0; i < %s_count; i++) {' % x,
                    'if (!%s_eq(&%s[i], &%s[i], v)) return false;' % (st.cprefix, x, y),
                    '}',
                ]
            kind = 'SL_PT_STRING' if f.elem == 'string' else PRIMS[f.elem][2]
            return ['if (!sl_parr_eq(%s, %s, %s_count, %s, %s_count)) return false;'
                    % (kind, x, x, y, y)]
        if f.is_struct:
            st = self.struct_of(f)
            if self.needs_present(f):
                return ['if (%s_present != %s_present) return false;' % (x, y),
                        'if (%s_present && !%s_eq(&%s, &%s, v)) return false;'
                        % (x, st.cprefix, x, y)]
            return ['if (!%s_eq(&%s, &%s, v)) return false;' % (st.cprefix, x, y)]
        if f.type == 'uuid':
            return ['if (!sl_uuid_eq(&%s, &%s)) return false;' % (x, y)]
        if f.type == 'float64':
            return ['if (!sl_f64_eq(%s, %s)) return false;' % (x, y)]
        if f.type in PRIMS:
            return ['if (%s != %s) return false;' % (x, y)]
        if f.type == 'string':
            return ['if (!sl_str_eq(%s, %s)) return false;' % (x, y)]
        return ['if (!sl_bytes_eq(%s, %s)) return false;' % (x, y)]

    def rand_lines(self, f):
        x = 'm->' + f.c
        nul = self.null_expr(f, f.tagged is not None)
        if f.is_array:
            if f.is_struct:
                st = self.struct_of(f)
                return [
                    '%s = sl_rand_array(a, seed, %s, sizeof(*%s), &%s_count);' % (x, nul, x, x),
                    'for (int32_t i = 0; i < %s_count; i++) {' % x,
                    '%s_init(&%s[i]);' % (st.cprefix, x),
                    '%s_random_fill(&%s[i], v, a, seed);' % (st.cprefix, x),
                    '}',
                ]
            kind = 'SL_PT_STRING' if f.elem == 'string' else PRIMS[f.elem][2]
            return ['%s = sl_rand_parr(a, seed, %s, %s, &%s_count);' % (x, nul, kind, x)]
        if f.is_struct:
            st = self.struct_of(f)
            out = []
            if self.needs_present(f):
                if f.tagged is not None:
                    out.append('%s_present = (sl_rand_u64(seed) & 1) != 0;' % x)
                elif nul != 'false':
                    out.append('%s_present = !(%s) || (sl_rand_u64(seed) & 1) != 0;'
                               % (x, nul))
                else:
                    out.append('%s_present = true;' % x)
                out.append('if (%s_present) {' % x)
                out.append('%s_random_fill(&%s, v, a, seed);' % (st.cprefix, x))
                out.append('}')
                return out
            return ['%s_random_fill(&%s, v, a, seed);' % (st.cprefix, x)]
        if f.type == 'uuid':
            return ['sl_rand_uuid(seed, &%s);' % x]
        if f.type == 'float64':
            return ['%s = sl_rand_f64(seed);' % x]
        if f.type == 'bool':
            return ['%s = (sl_rand_u64(seed) & 1) != 0;' % x]
        if f.type in PRIMS:
            return ['%s = (%s)sl_rand_int(seed);' % (x, PRIMS[f.type][0])]
        if f.type == 'string':
            return ['sl_rand_string(a, seed, %s, &%s);' % (nul, x)]
        return ['sl_rand_bytes(a, seed, %s, &%s);' % (nul, x)]

    # per-struct functions ------------------------------------------------
    def tagged_fields(self, st):
        tf = [f for f in st.fields if f.tagged is not None and
              self.cond(f.tagged, self.tag_ctx())]
        return sorted(tf, key=lambda f: f.tag)

    def guarded(self, c, lines):
        if c is None:
            return []
        if c == '1':
            return lines
        return ['if (%s) {' % c] + lines + ['}']

    def fn_init(self, st):
        out = ['void', '%s_init(%s *m)' % (st.cprefix, st.ctype), '{',
               'memset(m, 0, sizeof(*m));']
        for f in st.fields:
            out += self.init_lines(f, 'm')
        out.append('}')
        return out

    def fn_decode(self, st):
        sig = '%s_decode(sl_rd_t *rd, int16_t v, sl_arena_t *a, %s *m)' % (
            st.cprefix, st.ctype)
        out = ['sl_err_t' if st.top else 'static void', sig, '{']
        body = []
        flex = 'flex' if self.has_flex else 'false'
        for f in st.fields:
            body += self.guarded(self.cond(self.positional(f)),
                                 self.decode_lines(f, 'rd', flex, 'm'))
        if self.has_flex:
            tl = ['uint32_t ti, nt = sl_rd_tags_begin(rd, a, &m->unknown_tags);',
                  'for (ti = 0; ti < nt && rd->err == SL_OK; ti++) {',
                  'uint32_t tag;', 'sl_rd_t sub;', 'sl_rd_tag(rd, &tag, &sub);']
            first = True
            for f in self.tagged_fields(st):
                c = self.cond(f.tagged, self.tag_ctx())
                cc = 'tag == %d' % f.tag + ('' if c == '1' else ' && %s' % c)
                tl.append('%sif (%s) {' % ('' if first else '} else ', cc))
                tl += self.decode_lines(f, '&sub', 'true', 'm', tagged=True)
                first = False
            if first:
                tl.append('sl_rd_tag_unknown(&m->unknown_tags, tag, &sub);')
            else:
                tl += ['} else {',
                       'sl_rd_tag_unknown(&m->unknown_tags, tag, &sub);', '}']
            tl += ['sl_rd_tag_end(rd, &sub);', '}']
            body += ['if (flex) {'] + tl + ['}']
        uses_flex = self.has_flex
        if st.top:
            out += ['%s_init(m);' % st.cprefix,
                    'if (v < %d || v > %d) {' % (self.vlo, self.vhi),
                    'return SL_ERR_UNSUPPORTED_VERSION;', '}']
        if uses_flex:
            out.append('bool flex = %s;' % self.flex_expr())
        out += body
        if st.top:
            out.append('return sl_rd_error(rd);')
        out.append('}')
        return out

    def fn_size(self, st):
        out = ['size_t' if st.top else 'static size_t',
               '%s_size(const %s *m, int16_t v)' % (st.cprefix, st.ctype), '{',
               'size_t sz = 0;']
        body = []
        flex = 'flex' if self.has_flex else 'false'
        for f in st.fields:
            body += self.guarded(self.cond(self.positional(f)),
                                 self.size_lines(f, 'sz', flex, 'm'))
        if self.has_flex:
            out.append('bool flex = %s;' % self.flex_expr())
            tl = ['uint32_t nt = (uint32_t)m->unknown_tags.count;',
                  'sz += sl_size_tags(&m->unknown_tags);']
            for f in self.tagged_fields(st):
                c = self.cond(f.tagged, self.tag_ctx())
                cc = ('' if c == '1' else '(%s) && ' % c) + \
                    self.is_set(f, 'm->' + f.c)
                tl += ['if (%s) {' % cc, 'size_t fs = 0;']
                tl += self.size_lines(f, 'fs', 'true', 'm', tagged=True)
                tl += ['nt++;',
                       'sz += sl_size_uvarint(%d) + sl_size_uvarint((uint32_t)fs) + fs;'
                       % f.tag, '}']
            tl.append('sz += sl_size_uvarint(nt);')
            body += ['if (flex) {'] + tl + ['}']
        out += body
        out += ['return sz;', '}']
        return out

    def fn_encode(self, st):
        sig = '%s_encode(sl_wr_t *wr, int16_t v, const %s *m)' % (
            st.cprefix, st.ctype)
        out = ['sl_err_t' if st.top else 'static void', sig, '{']
        if st.top:
            out += ['if (v < %d || v > %d) {' % (self.vlo, self.vhi),
                    'return SL_ERR_UNSUPPORTED_VERSION;', '}']
        body = []
        flex = 'flex' if self.has_flex else 'false'
        for f in st.fields:
            body += self.guarded(self.cond(self.positional(f)),
                                 self.encode_lines(f, 'wr', flex, 'm'))
        if self.has_flex:
            out.append('bool flex = %s;' % self.flex_expr())
            tfs = self.tagged_fields(st)
            tl = ['uint32_t nt = (uint32_t)m->unknown_tags.count;',
                  'int32_t ui = 0;']
            for i, f in enumerate(tfs):
                c = self.cond(f.tagged, self.tag_ctx())
                cc = ('' if c == '1' else '(%s) && ' % c) + \
                    self.is_set(f, 'm->' + f.c)
                tl.append('bool t%d = %s;' % (i, cc))
                tl.append('nt += t%d ? 1 : 0;' % i)
            tl.append('sl_wr_uvarint(wr, nt);')
            for i, f in enumerate(tfs):
                tl += ['if (t%d) {' % i, 'size_t fs = 0;']
                tl += self.size_lines(f, 'fs', 'true', 'm', tagged=True)
                tl += ['sl_wr_tags_upto(wr, &m->unknown_tags, &ui, %d);' % f.tag,
                       'sl_wr_uvarint(wr, %d);' % f.tag,
                       'sl_wr_uvarint(wr, (uint32_t)fs);']
                tl += self.encode_lines(f, 'wr', 'true', 'm', tagged=True)
                tl.append('}')
            tl.append('sl_wr_tags_upto(wr, &m->unknown_tags, &ui, UINT64_MAX);')
            body += ['if (flex) {'] + tl + ['}']
        out += body
        if st.top:
            out.append('return sl_wr_error(wr);')
        out.append('}')
        return out

    def fn_eq(self, st):
        out = ['bool' if st.top else 'static bool',
               '%s_eq(const %s *x, const %s *y, int16_t v)' %
               (st.cprefix, st.ctype, st.ctype), '{']
        body = []
        for f in st.fields:
            r = f.tagged if f.tagged is not None else f.versions
            body += self.guarded(self.cond(r), self.eq_lines(f))
        if self.has_flex:
            body += ['if (!sl_tags_eq(&x->unknown_tags, &y->unknown_tags)) {', 'return false;', '}']
        out += body
        out += ['return true;', '}']
        return out

    def fn_rand(self, st):
        out = ['void' if st.top else 'static void',
               '%s_random_fill(%s *m, int16_t v, sl_arena_t *a, uint64_t *seed)'
               % (st.cprefix, st.ctype), '{']
        body = []
        for f in st.fields:
            if f.tagged is not None:
                c = self.cond(f.tagged)
                if c is None:
                    continue
                lines = ['if ((sl_rand_u64(seed) & 3) != 0) {'] + \
                    self.rand_lines(f) + ['}']
                body += self.guarded(c, lines)
            else:
                body += self.guarded(self.cond(f.versions), self.rand_lines(f))
        if self.has_flex:
            body += ['if (%s) {' % self.flex_expr(),
                     'sl_rand_tags(a, seed, &m->unknown_tags);', '}']
        out += body
        out += ['}']
        return out

    def protos(self, st):
        t = st.ctype
        p = st.cprefix
        return [
            'static void %s_decode(sl_rd_t *rd, int16_t v, sl_arena_t *a, %s *m);' % (p, t),
            'static size_t %s_size(const %s *m, int16_t v);' % (p, t),
            'static void %s_encode(sl_wr_t *wr, int16_t v, const %s *m);' % (p, t),
            'static bool %s_eq(const %s *x, const %s *y, int16_t v);' % (p, t, t),
            'static void %s_random_fill(%s *m, int16_t v, sl_arena_t *a, uint64_t *seed);' % (p, t),
        ]

    # output ------------------------------------------------------------
    def header(self):
        out = []
        for st in self.order:
            out.append('typedef struct %s_s {' % st.cprefix)
            n = 0
            for f in st.fields:
                if self.cond(f.versions) is None and \
                        self.cond(f.tagged) is None:
                    continue
                d = self.decl(f)
                d[0] += ' /* %s */' % self.field_doc(f)
                out += d
                n += 1
            if self.has_flex:
                out.append('sl_tags_t unknown_tags; /* unknown tagged fields, in read order */')
            elif n == 0:
                out.append('char unused_; /* no field in any version */')
            out.append('} %s;' % st.ctype)
            out.append('')
            if not st.top:
                out.append('/* Set every field to its default (call on each '
                           'element a handler builds). */')
                out.append('void %s_init(%s *m);' % (st.cprefix, st.ctype))
                out.append('')
        t, p = self.top.ctype, self.top.cprefix
        out += [
            '/* %s, versions %d-%d, %s. */' % (
                self.msg.name, self.vlo, self.vhi,
                'flexible from v%d' % self.flex_lo if self.has_flex else 'never flexible'),
            'void %s_init(%s *m);' % (p, t),
            'sl_err_t %s_decode(sl_rd_t *rd, int16_t v, sl_arena_t *a, %s *m);' % (p, t),
            'size_t %s_size(const %s *m, int16_t v);' % (p, t),
            'sl_err_t %s_encode(sl_wr_t *wr, int16_t v, const %s *m);' % (p, t),
            'bool %s_eq(const %s *x, const %s *y, int16_t v);' % (p, t, t),
            'void %s_random_fill(%s *m, int16_t v, sl_arena_t *a, uint64_t *seed);' % (p, t),
            '',
        ]
        return out

    def source(self):
        # drop fields that never exist in the valid range from struct views
        for st in self.order:
            st.fields = [f for f in st.fields
                         if self.cond(f.versions) is not None or
                         self.cond(f.tagged) is not None]
        out = []
        for st in self.order:
            if not st.top:
                out += self.protos(st)
        out.append('')
        for st in self.order:
            for fn in (self.fn_init, self.fn_decode, self.fn_size,
                       self.fn_encode, self.fn_eq, self.fn_rand):
                out += fn(st) + ['']
        return out


# ---- files ---------------------------------------------------------------


def banner(sources):
    return '/* Generated by protocol/gen from protocol/messages/%s. DO NOT EDIT. */' % \
        ', '.join(sources)


def write_pair(outdir, base, sources, gens, what):
    guard = 'SL_PROTO_GEN_%s_H' % base.upper()
    h = [banner(sources),
         '/* %s */' % what,
         '#ifndef %s' % guard, '#define %s' % guard, '',
         '#include <stdbool.h>', '#include <stddef.h>', '#include <stdint.h>', '',
         '#include "core/arena.h"', '#include "core/err.h"', '#include "proto/wire.h"', '']
    for g in gens:
        h += g.header()
    h += ['#endif']
    c = [banner(sources), '#include "proto/gen/%s.h"' % base, '',
         '#include <string.h>', '']
    for g in gens:
        c += g.source()
    return {base + '.h': '\n'.join(h) + '\n', base + '.c': '\n'.join(c) + '\n'}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(ROOT, 'src', 'proto', 'gen'))
    ap.add_argument('--messages', default=os.path.join(ROOT, 'protocol', 'messages'))
    ap.add_argument('--errors', default=os.path.join(ROOT, 'protocol', 'errors.def'))
    args = ap.parse_args()

    msgs = []
    for name in sorted(os.listdir(args.messages)):
        if name.endswith('.def'):
            msgs.append(parse_def(os.path.join(args.messages, name)))

    files = {}
    apis = {}
    for m in msgs:
        if m.kind in ('request', 'response'):
            apis.setdefault(m.api, {})[m.kind] = m
    table = []
    for key in sorted(apis):
        req, resp = apis[key]['request'], apis[key]['response']
        base = req.name[:-len('Request')]
        sn = snake(base)
        greq = Gen(req, 'sl_msg_%s_req' % sn)
        gresp = Gen(resp, 'sl_msg_%s_resp' % sn)
        files.update(write_pair(args.out, sn, [req.name, resp.name],
                                [greq, gresp],
                                '%s (API key %d): request and response codecs.'
                                % (base, key)))
        flex = req.flex[0] if req.flex else -1
        table.append((key, base, sn, req.valid[0], req.valid[1], flex))

    hdrs = [m for m in msgs if m.kind == 'header']
    hdrs.sort(key=lambda m: m.name)
    files.update(write_pair(args.out, 'headers', [m.name for m in hdrs],
                            [Gen(m, 'sl_msg_' + snake(m.name)) for m in hdrs],
                            'Request and response headers.'))
    data = [m for m in msgs if m.kind == 'data']
    data.sort(key=lambda m: m.name)
    dgens = [Gen(m, 'sl_msg_' + snake(m.name)) for m in data]
    files.update(write_pair(args.out, 'data', ['<coordinator records and other data-type definitions>'], dgens,
                            'Coordinator records and other data-type messages: %s.'
                            % ', '.join(m.name for m in data)))

    files.update(api_table(table, hdrs, data))
    files['error_codes.def'] = error_codes(args.errors)
    files['.gitattributes'] = ('# Generated by protocol/gen. DO NOT EDIT.\n'
                               '* linguist-generated=true\n')

    fmt = shutil.which('clang-format') or shutil.which('clang-format-14')
    if fmt is None:
        raise SystemExit('gen: clang-format (14) is required')
    style = os.path.join(ROOT, '.clang-format')
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(files):
        text = files[name]
        if name.endswith('.c') or name.endswith('.h'):
            text = subprocess.run(
                [fmt, '--style=file:' + style, '--assume-filename=' + name],
                input=text, capture_output=True, text=True, check=True).stdout
        with open(os.path.join(args.out, name), 'w', encoding='utf-8') as fh:
            fh.write(text)
    print('gen: wrote %d files to %s' % (len(files), args.out), file=sys.stderr)


def api_table(table, hdrs, data):
    d = ['/* Generated by protocol/gen from protocol/messages (all requests and responses). DO NOT EDIT. */',
         '/* SL_API(key, Name, snake_name, min_version, max_version, first_flexible) */']
    for key, base, sn, lo, hi, flex in table:
        d.append('SL_API(%d, %s, %s, %d, %d, %d)' % (key, base, sn, lo, hi, flex))
    h = ['/* Generated by protocol/gen from protocol/messages (all). DO NOT EDIT. */',
         '/* Codec tables: every message behind void * entry points, for tests,',
         ' * fuzzers and generic dispatch. */',
         '#ifndef SL_PROTO_GEN_API_TABLE_H', '#define SL_PROTO_GEN_API_TABLE_H', '',
         '#include <stdbool.h>', '#include <stddef.h>', '#include <stdint.h>', '',
         '#include "core/arena.h"', '#include "core/err.h"', '#include "proto/wire.h"', '',
         '#define SL_API_KEY_MAX %d' % max(t[0] for t in table),
         '#define SL_API_KEY_COUNT (SL_API_KEY_MAX + 1)', '',
         'typedef struct sl_msg_codec_s {',
         'const char *name;',
         'int16_t min_version;', 'int16_t max_version;',
         'int16_t first_flexible; /* -1 = never flexible */',
         'size_t struct_size;',
         'void (*init)(void *m);',
         'sl_err_t (*decode)(sl_rd_t *rd, int16_t v, sl_arena_t *a, void *m);',
         'size_t (*size)(const void *m, int16_t v);',
         'sl_err_t (*encode)(sl_wr_t *wr, int16_t v, const void *m);',
         'bool (*eq)(const void *x, const void *y, int16_t v);',
         'void (*random_fill)(void *m, int16_t v, sl_arena_t *a, uint64_t *seed);',
         '} sl_msg_codec_t;', '',
         'typedef struct sl_api_codec_s {',
         'int16_t key; /* -1 for holes in the key space */',
         'const char *name;',
         'sl_msg_codec_t req;', 'sl_msg_codec_t resp;',
         '} sl_api_codec_t;', '',
         '/* Indexed by API key; entries with key == -1 are unused keys. */',
         'extern const sl_api_codec_t sl_api_codecs[SL_API_KEY_COUNT];', '',
         '/* Request and response headers: [0] RequestHeader, [1] ResponseHeader. */',
         'extern const sl_msg_codec_t sl_msg_header_codecs[2];', '',
         '/* Data-type messages (coordinator records, consumer protocol, ...). */',
         'extern const sl_msg_codec_t sl_msg_data_codecs[%d];' % len(data),
         '#define SL_MSG_DATA_COUNT %d' % len(data), '',
         '/* The codec of an API key, or NULL when the key is unknown. */',
         'const sl_api_codec_t *sl_api_codec(int16_t key);', '',
         '/* Request header version (0, 1 or 2) for an API key and version:',
         ' * 2 when the API version is flexible, 0 for ControlledShutdown v0,',
         ' * else 1. Unknown keys get 1. */',
         'int16_t sl_msg_request_header_version(int16_t api_key, int16_t api_version);', '',
         '/* Response header version (0 or 1): 1 when flexible, except that',
         ' * ApiVersions always answers with header v0. */',
         'int16_t sl_msg_response_header_version(int16_t api_key, int16_t api_version);', '',
         '#endif']
    c = ['/* Generated by protocol/gen from protocol/messages (all). DO NOT EDIT. */',
         '#include "proto/gen/api_table.h"', '']
    for key, base, sn, lo, hi, flex in table:
        c.append('#include "proto/gen/%s.h"' % sn)
    c += ['#include "proto/gen/data.h"', '#include "proto/gen/headers.h"', '']

    def wrappers(p):
        t = p + '_t'
        return [
            'static void %s_init_v(void *m) { %s_init(m); }' % (p, p),
            'static sl_err_t %s_decode_v(sl_rd_t *rd, int16_t v, sl_arena_t *a, void *m) { return %s_decode(rd, v, a, m); }' % (p, p),
            'static size_t %s_size_v(const void *m, int16_t v) { return %s_size(m, v); }' % (p, p),
            'static sl_err_t %s_encode_v(sl_wr_t *wr, int16_t v, const void *m) { return %s_encode(wr, v, m); }' % (p, p),
            'static bool %s_eq_v(const void *x, const void *y, int16_t v) { return %s_eq(x, y, v); }' % (p, p),
            'static void %s_random_fill_v(void *m, int16_t v, sl_arena_t *a, uint64_t *seed) { %s_random_fill(m, v, a, seed); }' % (p, p),
        ]

    def entry(p, name, lo, hi, flex):
        return ('{"%s", %d, %d, %d, sizeof(%s_t), %s_init_v, %s_decode_v, %s_size_v, '
                '%s_encode_v, %s_eq_v, %s_random_fill_v}' %
                (name, lo, hi, flex, p, p, p, p, p, p, p))

    for key, base, sn, lo, hi, flex in table:
        c += wrappers('sl_msg_%s_req' % sn) + wrappers('sl_msg_%s_resp' % sn)
    for m in hdrs + data:
        c += wrappers('sl_msg_' + snake(m.name))
    c += ['', 'const sl_api_codec_t sl_api_codecs[SL_API_KEY_COUNT] = {']
    keys = {t[0] for t in table}
    for k in range(max(keys) + 1):
        if k not in keys:
            c.append('[%d] = {-1, NULL, {0}, {0}},' % k)
    for key, base, sn, lo, hi, flex in table:
        c.append('[%d] = {%d, "%s", %s, %s},' % (
            key, key, base,
            entry('sl_msg_%s_req' % sn, base + 'Request', lo, hi, flex),
            entry('sl_msg_%s_resp' % sn, base + 'Response', lo, hi, flex)))
    c += ['};', '']

    def mentry(m):
        flex = m.flex[0] if m.flex else -1
        return entry('sl_msg_' + snake(m.name), m.name, m.valid[0], m.valid[1], flex)

    c += ['const sl_msg_codec_t sl_msg_header_codecs[2] = {']
    c += [mentry(m) + ',' for m in hdrs] + ['};', '']
    c += ['const sl_msg_codec_t sl_msg_data_codecs[%d] = {' % len(data)]
    c += [mentry(m) + ',' for m in data] + ['};', '']
    c += ['const sl_api_codec_t *', 'sl_api_codec(int16_t key)', '{',
          'if (key < 0 || key > SL_API_KEY_MAX || sl_api_codecs[key].key < 0) {',
          'return NULL;', '}', 'return &sl_api_codecs[key];', '}', '',
          'int16_t', 'sl_msg_request_header_version(int16_t api_key, int16_t api_version)', '{',
          'const sl_api_codec_t *c = sl_api_codec(api_key);', '',
          'if (api_key == 7 && api_version == 0) {',
          'return 0; /* ControlledShutdown v0 */', '}',
          'if (c != NULL && c->req.first_flexible >= 0 && api_version >= c->req.first_flexible) {',
          'return 2;', '}', 'return 1;', '}', '',
          'int16_t', 'sl_msg_response_header_version(int16_t api_key, int16_t api_version)', '{',
          'const sl_api_codec_t *c = sl_api_codec(api_key);', '',
          'if (api_key == 18) {', 'return 0; /* ApiVersions: always v0 (KIP-511) */', '}',
          'if (c != NULL && c->resp.first_flexible >= 0 && api_version >= c->resp.first_flexible) {',
          'return 1;', '}', 'return 0;', '}']
    return {'api_table.def': '\n'.join(d) + '\n',
            'api_table.h': '\n'.join(h) + '\n',
            'api_table.c': '\n'.join(c) + '\n'}


def error_codes(path):
    out = ['/* Generated by protocol/gen from protocol/errors.def. DO NOT EDIT. */',
           '/* SL_ERRCODE(code, NAME, retriable) */']
    with open(path, encoding='utf-8') as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            code, name, kind = line.split()
            if kind not in ('retriable', 'fatal'):
                raise SystemExit('errors.def: bad kind %r' % kind)
            out.append('SL_ERRCODE(%d, %s, %s)' % (
                int(code), name, 'true' if kind == 'retriable' else 'false'))
    return '\n'.join(out) + '\n'


if __name__ == '__main__':
    main()

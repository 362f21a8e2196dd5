/*
 * core/log.c: formatting and writing log lines.
 * Owns: the level (an atomic). Thread-safe.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int sl_log_level = SL_LOG_INFO;

static const char *const sl_log_names[] = {"debug", "info", "warn", "error",
                                           "off"};

void
sl_log_set_level(sl_log_level_e level)
{
    atomic_store(&sl_log_level, (int)level);
}

sl_log_level_e
sl_log_get_level(void)
{
    return (sl_log_level_e)atomic_load(&sl_log_level);
}

int
sl_log_parse_level(const char *s)
{
    int i;

    for (i = 0; i <= SL_LOG_OFF; i++) {
        if (strcasecmp(s, sl_log_names[i]) == 0) {
            return i;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        return SL_LOG_WARN;
    }
    return -1;
}

void
sl_log_write(sl_log_level_e level, const char *module, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n, m;

    if ((int)level < atomic_load(&sl_log_level)) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        line, sizeof(line),
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, sl_log_names[level], module);
    if (n < 0) {
        return;
    }
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) {
        m = 0;
    }
    n += m;
    if (n > (int)sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n);
}

"""A throwaway MIT Kerberos realm for tests: a KDC database, config and log
in a temporary directory, krb5kdc in the foreground (-n) on a free loopback
port, principals and keytabs made with kadmin.local. Needs Debian's
krb5-kdc, krb5-admin-server and krb5-user (scripts/install-deps).
Used by compat-tests/test_gssapi and librdkafka/run-suite --security
sasl_gssapi."""
import os
import signal
import subprocess

from sluice import free_port

REALM = "SLUICE.TEST"


class Kdc:
    """A KDC for REALM with its database, config and log in <d>."""

    def __init__(self, d):
        self.d = d
        self.port = free_port()
        self.env = dict(os.environ, KRB5_CONFIG=os.path.join(d, "krb5.conf"),
                        KRB5_KDC_PROFILE=os.path.join(d, "kdc.conf"),
                        KRB5CCNAME="FILE:" + os.path.join(d, "ccache"),
                        KRB5RCACHEDIR=d)
        with open(os.path.join(d, "krb5.conf"), "w") as f:
            f.write("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n"
                    " dns_lookup_realm = false\n dns_canonicalize_hostname = false\n rdns = false\n"
                    " udp_preference_limit = 1\n"
                    "[realms]\n %s = {\n  kdc = 127.0.0.1:%d\n }\n" % (REALM, REALM, self.port))
        with open(os.path.join(d, "kdc.conf"), "w") as f:
            f.write("[kdcdefaults]\n kdc_listen = 127.0.0.1:%d\n kdc_tcp_listen = 127.0.0.1:%d\n"
                    "[realms]\n %s = {\n  database_name = %s\n  key_stash_file = %s\n"
                    "  kdc_listen = 127.0.0.1:%d\n  kdc_tcp_listen = 127.0.0.1:%d\n }\n"
                    "[logging]\n kdc = FILE:%s\n"
                    % (self.port, self.port, REALM, os.path.join(d, "principal"),
                       os.path.join(d, "stash"), self.port, self.port, os.path.join(d, "kdc.log")))
        self.run("kdb5_util", "create", "-s", "-r", REALM, "-P", "sluice-master-pw")
        self.proc = subprocess.Popen(["krb5kdc", "-n", "-r", REALM], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def run(self, *args):
        subprocess.run(list(args), env=self.env, check=True, capture_output=True, timeout=60)

    def keytab(self, principal, name):
        path = os.path.join(self.d, name)
        self.run("kadmin.local", "-r", REALM, "-q", "addprinc -randkey %s" % principal)
        self.run("kadmin.local", "-r", REALM, "-q", "ktadd -k %s %s" % (path, principal))
        return path

    def delprinc(self, principal):
        self.run("kadmin.local", "-r", REALM, "-q", "delprinc -force %s" % principal)

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def use(self):
        """Point this process (and what it starts: brokers, kinit) at the
        realm: its krb5.conf, a ticket cache and replay cache here."""
        os.environ.update({k: self.env[k] for k in ("KRB5_CONFIG", "KRB5CCNAME", "KRB5RCACHEDIR")})

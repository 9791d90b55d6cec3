"""TLS test processes: certificates made with the ``openssl`` command line tool (a CA, a server
certificate for 127.0.0.1/localhost, a client certificate), and TLS variants of the
`redisession.testing` servers: standalone, primary+replica+Sentinel with a password, and a
3-master cluster with ``tls-cluster yes``. Each still stops its processes by pid.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import redis

from redisession.testing import RedisCluster3, RedisSentinelSet, RedisServer


@dataclass(frozen=True)
class Certs:
    dir: Path

    @property
    def ca(self) -> str:
        return str(self.dir / "ca.crt")

    def cert(self, name: str) -> str:
        return str(self.dir / f"{name}.crt")

    def key(self, name: str) -> str:
        return str(self.dir / f"{name}.key")

    def query(self, client: bool = True) -> str:
        """URL query parameters: the CA, and the client certificate and key if asked."""
        params = {"ssl_ca_certs": self.ca}
        if client:
            params |= {"ssl_certfile": self.cert("client"), "ssl_keyfile": self.key("client")}
        return urlencode(params)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(where: Path) -> Certs:
    """A CA, then a server and a client certificate it signs (EC P-256, valid 2 days)."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the TLS tests need the openssl command line tool (apt-get install "
                           "openssl)")
    where.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", "-new", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=redisession test CA", cwd=where)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                      ("client", "extendedKeyUsage=clientAuth")):
        (where / f"{name}.ext").write_text(ext + "\n")
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN=redisession-{name}", cwd=where)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile",
                 f"{name}.ext", cwd=where)
    return Certs(where)


class TLSRedisServer(RedisServer):
    """A redis-server that listens on TLS only (``port 0``), optionally requiring client
    certificates (``tls-auth-clients yes``) and a password."""

    def __init__(self, certs: Certs, config: dict[str, str] | None = None,
                 auth_clients: bool = False, password: str | None = None,
                 sentinel_lines: list[str] | None = None) -> None:
        super().__init__(config, sentinel_lines=sentinel_lines or ())
        self.certs, self.password = certs, password
        self.config.update({
            "port": "0", "tls-port": str(self.port), "tls-cert-file": certs.cert("server"),
            "tls-key-file": certs.key("server"), "tls-ca-cert-file": certs.ca,
            "tls-auth-clients": "yes" if auth_clients else "no"})
        if password:
            self.config.update({"requirepass": password, "masterauth": password})

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"rediss://{auth}127.0.0.1:{self.port}/0?{self.certs.query()}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, ssl=True,
                           ssl_ca_certs=self.certs.ca, ssl_certfile=self.certs.cert("client"),
                           ssl_keyfile=self.certs.key("client"), password=self.password)


class TLSCluster3(RedisCluster3):
    """Three TLS masters, the cluster bus on TLS too (``tls-cluster yes``)."""

    def __init__(self, certs: Certs) -> None:
        self.certs = certs
        self.nodes = [TLSRedisServer(certs, {
            "cluster-enabled": "yes", "cluster-node-timeout": "2000",
            "cluster-config-file": "nodes.conf", "tls-cluster": "yes"}) for _ in range(3)]

    @property
    def url(self) -> str:
        return f"rediss+cluster://127.0.0.1:{self.nodes[0].port}/0?{self.certs.query()}"


class TLSSentinelSet(RedisSentinelSet):
    """Primary, replica and Sentinel, all on TLS only and all behind ``password``."""

    def __init__(self, certs: Certs, password: str) -> None:
        self.certs, self.password = certs, password
        tls_repl = {"tls-replication": "yes"}
        self.primary = TLSRedisServer(certs, tls_repl, password=password)
        self.replica = TLSRedisServer(
            certs, {**tls_repl, "replicaof": f"127.0.0.1 {self.primary.port}"},
            password=password)
        s = self.service
        self.sentinel = TLSRedisServer(certs, tls_repl, password=password, sentinel_lines=[
            f"sentinel monitor {s} 127.0.0.1 {self.primary.port} 1",
            f"sentinel auth-pass {s} {password}",
            f"sentinel down-after-milliseconds {s} 1000",
            f"sentinel failover-timeout {s} 5000"])
        for key in ("maxmemory-policy", "repl-diskless-sync-delay", "appendonly", "save",
                    "masterauth"):
            self.sentinel.config.pop(key, None)

    @property
    def url(self) -> str:
        return (f"rediss+sentinel://:{self.password}@127.0.0.1:{self.sentinel.port}/"
                f"{self.service}?{self.certs.query()}")

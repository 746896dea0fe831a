"""nginx as the TLS-terminating, round-robin load balancer in front of several live servers.

    with Balancer([first, second]) as balancer:      # first, second: started LiveServers
        status, body, seconds = balancer.request("GET", "/services")

Debian's nginx (``apt-get install nginx``; ``.ci/run`` installs it), started in
the foreground with a configuration, a self-signed certificate, its pid file
and temporary files in a directory of its own, which ``stop`` removes. The site
it serves is ``site_config``: the configuration the README's Deployment section
shows, only with the test's addresses and certificate (a test keeps the two
equal). Requests go to https://127.0.0.1:port with ``Host: bookit.test``.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bookit.testing.live_server import Endpoint

SERVER_NAME = "bookit.test"

SITE = """\
# Access lines name the route, never a calendar feed's secret token (/calendar/<token>.ics is the
# feed's only key), nor a query string: $uri (decoded, without the query), not $request or $request_uri.
map $uri $bookit_logged_uri {
    "~^/calendar/[^/]*(?<bookit_after_token>.*)$"  "/calendar/<redacted>.ics$bookit_after_token";
    default                                          $uri;
}
log_format bookit '$remote_addr [$time_local] "$request_method $bookit_logged_uri $server_protocol" '
                  '$status $body_bytes_sent $request_time "$http_user_agent"';

upstream bookit {
    zone bookit 64k;  # one round robin (and one view of failed servers) for all nginx workers
%(servers)s
}

server {
    listen %(listen)s ssl;
    server_name %(server_name)s;
    ssl_certificate %(certificate)s;
    ssl_certificate_key %(key)s;
    access_log %(access_log)s bookit;

    # BookIt refuses large bodies itself, with its JSON error (413, MAX_REQUEST_BODY_BYTES).
    client_max_body_size 2m;

    location / {
        proxy_pass http://bookit;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}
"""

# The frame around the site for a throwaway nginx: everything it writes stays in its directory.
MAIN = """\
daemon off;
worker_processes 2;
pid %(root)s/nginx.pid;
error_log stderr warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    client_body_temp_path %(root)s/client_body;
    proxy_temp_path %(root)s/proxy;
    fastcgi_temp_path %(root)s/fastcgi;
    uwsgi_temp_path %(root)s/uwsgi;
    scgi_temp_path %(root)s/scgi;

%(site)s}
"""


def nginx_path() -> str | None:
    """Debian's nginx lives in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))


def site_config(
    *, servers: list[str], listen: str, server_name: str, certificate: str, key: str, access_log: str
) -> str:
    """The nginx site in front of the BookIt hosts ``servers`` (``host:port`` each), round robin."""
    upstream = "\n".join(f"    server {server};" for server in servers)
    values = {"servers": upstream, "listen": listen, "server_name": server_name, "certificate": certificate}
    return SITE % {**values, "key": key, "access_log": access_log}


class Balancer(Endpoint):
    """nginx on a free port, round robin over ``servers``, speaking HTTPS with a certificate of its own."""

    name = "nginx"

    def __init__(self, servers: list[Endpoint], **kwargs):
        self.root = Path(tempfile.mkdtemp(prefix="bookit-nginx-"))
        self.root.chmod(0o755)  # nginx's workers, unprivileged when it starts as root, use its temp dirs
        certificate, key = self.root / "certificate.pem", self.root / "key.pem"
        self.access_log = self.root / "access.log"
        names = f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1"
        openssl = [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={SERVER_NAME}",
        ]
        subprocess.run(
            [*openssl, "-addext", names, "-keyout", key, "-out", certificate], check=True, capture_output=True
        )
        super().__init__(cafile=certificate, **kwargs)
        self.headers = {"Host": SERVER_NAME, **self.headers}
        site = site_config(
            servers=[f"127.0.0.1:{server.port}" for server in servers],
            listen=f"127.0.0.1:{self.port}",
            server_name=SERVER_NAME,
            certificate=str(certificate),
            key=str(key),
            access_log=str(self.access_log),
        )
        self.config = self.root / "nginx.conf"
        self.config.write_text(MAIN % {"root": self.root, "site": site})

    def start(self) -> "Balancer":
        nginx = nginx_path()
        if nginx is None:
            raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
        return self.launch([nginx, "-p", str(self.root), "-c", str(self.config), "-e", "stderr"], dict(os.environ))

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)

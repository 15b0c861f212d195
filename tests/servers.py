"""Real servers for the tests: Dovecot (when installed) beside the embedded pymap and sink.

Dovecot runs from Debian's dovecot-imapd with a throwaway configuration in a temp dir, on a
free loopback port, one instance per test session; each test gets a user of its own so
mailboxes never leak between tests.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from imapclient import IMAPClient

from intake.embedded import free_port

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)

USERS = 1000


def _dovecot() -> str:
    if DOVECOT is None:
        raise RuntimeError("dovecot is not installed (.ci/run installs dovecot-imapd)")
    return DOVECOT


@dataclass(frozen=True)
class ImapAccount:
    """Where a test's mailbox is, and how to log in."""

    kind: str  # "pymap" | "dovecot"
    host: str
    port: int
    user: str
    password: str

    def client(self, timeout: float = 10.0) -> IMAPClient:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        client.normalise_times = False
        client.login(self.user, self.password)
        return client

    def config_toml(self, folder: str = "INBOX") -> str:
        return (
            f'[mailbox]\nhost = "{self.host}"\nport = {self.port}\nsecurity = "none"\n'
            f'username = "{self.user}"\npassword = "{self.password}"\nfolder = "{folder}"\n'
            "timeout = 10\n"
        )


_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = intake-test-{port}
protocols = imap
verbose_proctitle = yes
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """A private Dovecot instance; `add_user()` gives each test a fresh mailbox."""

    def __init__(self, root: Path) -> None:
        if not DOVECOT:
            raise RuntimeError("dovecot is not installed")
        self.root = root
        self.port = free_port()
        self._users = itertools.count(1)
        self._config = root / "dovecot.conf"

    def start(self) -> Dovecot:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "mail").mkdir(exist_ok=True)
        # Dovecot drops to an unprivileged user for mail access when started as root.
        uid, gid = (os.getuid(), os.getgid())
        if uid == 0:
            import pwd

            entry = pwd.getpwnam("dovecot")
            uid, gid = entry.pw_uid, entry.pw_gid
            os.chmod(self.root, 0o777)
            os.chmod(self.root / "mail", 0o777)
        # All users up front: Dovecot re-reads the file only when its mtime changes, which a
        # user added within the same second would not do.
        (self.root / "passwd").write_text(
            "".join(f"user{n}:{{PLAIN}}secret\n" for n in range(1, USERS + 1))
        )
        self._config.write_text(_CONFIG.format(root=self.root, port=self.port, uid=uid, gid=gid))
        # The daemon keeps inherited pipes open: capture nothing, read its log instead.
        started = subprocess.run(
            [_dovecot(), "-c", str(self._config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        if started.returncode != 0:
            raise RuntimeError(f"dovecot did not start: {self.log()}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()}")

    def add_user(self) -> ImapAccount:
        number = next(self._users)
        if number > USERS:
            raise RuntimeError(f"more than {USERS} Dovecot users asked for in one session")
        user = f"user{number}"
        return ImapAccount("dovecot", "127.0.0.1", self.port, user, "secret")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def kill_connections(self, user: str) -> None:
        """Cut every IMAP session of `user`, as a network drop would."""
        out = subprocess.run(["pgrep", "-f", f"imap.*{user}"], capture_output=True, text=True)
        for pid in out.stdout.split():
            os.kill(int(pid), signal.SIGKILL)

    def stop(self) -> None:
        subprocess.run([_dovecot(), "-c", str(self._config), "stop"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        time.sleep(0.2)


class LoopbackProxy:
    """A TCP proxy on loopback in front of a real server; subclasses say what happens to each
    connection (`relay`). Closing it refuses new connections, as a server that went away."""

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def account(self, account: ImapAccount) -> ImapAccount:
        return replace(account, port=self.port)

    def relay(self, client: socket.socket, server: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.relay(client, socket.create_connection(self.target))

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


class CuttingProxy(LoopbackProxy):
    """Forwards to a server and, while `cut_after` is set, cuts each connection after that
    many bytes from the server: a network drop mid-transfer."""

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.cut_after: int | None = None
        self.cuts = 0
        super().__init__(target_host, target_port, port)

    def relay(self, client: socket.socket, server: socket.socket) -> None:
        _Pipe(self, client, server, self.cut_after)


class _Pipe:
    def __init__(self, proxy: CuttingProxy, client: socket.socket, server: socket.socket,
                 budget: int | None) -> None:
        self.proxy, self.client, self.server, self.budget = proxy, client, server, budget
        threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
        threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted and self.budget is not None:
                    if len(data) >= self.budget:
                        sink.sendall(data[: self.budget])
                        self.proxy.cuts += 1
                        break
                    self.budget -= len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (self.client, self.server):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

"""The plaintext start of an SMTP session up to STARTTLS, shared by the
tests that drive the sensor under TLS with Python's ssl module."""
import socket
import ssl


def reply(f):
    """Read one reply, multiline or not, and return its last line."""
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    return line.decode(errors="replace").strip()


def starttls(port):
    """Connect, greet and ask for STARTTLS on 127.0.0.1:port.

    Returns the plain socket and a client context that trusts any
    certificate, for the test's own handshake.  Exits if the sensor
    rejects STARTTLS.
    """
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    plain = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = plain.makefile("rb")
    reply(f)
    plain.sendall(b"EHLO client.example\r\n")
    reply(f)
    plain.sendall(b"STARTTLS\r\n")
    if not reply(f).startswith("220"):
        raise SystemExit("STARTTLS was not accepted")
    return plain, ctx

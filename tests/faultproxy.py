"""A TCP proxy between the kiosk's sync process and the admin, for fault injection:
pass traffic, cut connections, stall them, answer 500 itself, or forward a request
and drop the server's answer (the server committed, the kiosk never hears)."""
import socket
import threading
import time

MODES = ("pass", "cut", "stall", "error500", "drop_response")


class FaultProxy:
    """Listens on 127.0.0.1:<port> and forwards to `target` according to `mode`."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.mode = "pass"
        self.counts = {m: 0 for m in MODES}
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(32)
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client, self.mode), daemon=True).start()

    def _handle(self, client, mode):
        self.counts[mode] += 1
        try:
            if mode == "cut":
                client.close()
                return
            if mode == "stall":
                time.sleep(30)  # longer than the sync's read timeout
                client.close()
                return
            request = _read_http(client)
            if mode == "error500":
                client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 26\r\nConnection: close\r\n\r\n{\"error\": \"proxy says no\"}")
                client.close()
                return
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.sendall(request)
            response = _read_http(upstream)
            upstream.close()
            if mode == "drop_response":
                client.close()
                return
            client.sendall(response)
            client.close()
        except OSError:
            client.close()

    def close(self):
        """Stop listening."""
        self.closed = True
        self.server.close()


def _read_http(sock):
    """One HTTP/1.1 message (headers + Content-Length body) from a socket."""
    sock.settimeout(15)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    # One request per connection: ask for close so neither side waits on keep-alive.
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:"))
    return head + b"\r\nConnection: close\r\n\r\n" + body

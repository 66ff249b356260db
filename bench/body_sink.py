#!/usr/bin/env python3
"""An upstream for the bigbody phase's uploads: reads each request body to
its end and throws it away, then answers 200 (and answers POST /api/login
like DolphinDB, with the token given, so tpp can fill its pool).

usage: body_sink.py PORT LOGIN_JSON_FILE

Reading the whole body before answering keeps the timing honest: a server
that answered first and discarded later (nginx's `return`) would let a
proxy finish before the bytes did. Content-Length bodies only; one thread
per connection; keep-alive.
"""
import socket
import sys
import threading

CHUNK = 1 << 20


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def serve(conn, login):
    scratch = bytearray(CHUNK)
    view = memoryview(scratch)
    buf = b""
    with conn:
        while True:
            head, buf = read_head(conn, buf)
            if head is None:
                return
            lines = head.split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            take = min(length, len(buf))
            buf = buf[take:]
            left = length - take
            while left > 0:
                n = conn.recv_into(view, min(CHUNK, left))
                if n == 0:
                    return
                left -= n
            body = login if lines[0].split(" ")[1] == "/api/login" else b'{"ok":true}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        login = f.read()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, login), daemon=True).start()


if __name__ == "__main__":
    main()

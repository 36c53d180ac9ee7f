#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that adds a fixed delay each way, to count round trips.

    bench/delay_proxy.py UNIX_SOCKET DELAY_MS

Relays to the server's Unix socket (PostgreSQL's .s.PGSQL.PORT), holding every chunk
DELAY_MS before passing it on, in order. Prints the port it listens on, then serves until
killed. A command that takes T ms directly and T + n * 2 * DELAY_MS through the proxy made
n round trips.
"""
import asyncio
import sys


async def relay(reader, writer, delay):
    queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data or None))
            if not data:
                break
    except ConnectionError:
        await queue.put((loop.time(), None))
    await sender


async def main(socket_path, delay_ms):
    delay = delay_ms / 1000

    async def client(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(socket_path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(relay(reader, up_writer, delay), relay(up_reader, writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))

#!/usr/bin/env python3
"""A TCP proxy that delays every byte by a fixed time in each direction.

This kernel has no `tc netem`; the multi-host test (scripts/multihost.sh) puts
one of these between each livecart instance and PostgreSQL to give the link a
real round-trip time. Order is kept: each chunk is written when its time has
come, after the chunks before it.

    delay_proxy.py LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_MS
"""

import asyncio
import sys
import time


def split_address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


async def pump(reader, writer, delay):
    """Copy reader to writer, each chunk `delay` seconds after it arrived."""
    queue = asyncio.Queue()

    async def read():
        try:
            while chunk := await reader.read(65536):
                await queue.put((time.monotonic() + delay, chunk))
        except (ConnectionError, OSError):
            pass
        await queue.put((time.monotonic() + delay, None))

    async def write():
        try:
            while True:
                due, chunk = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if chunk is None:
                    break
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    await asyncio.gather(read(), write())


async def main():
    listen, target, delay_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    delay = delay_ms / 1000.0
    target_host, target_port = split_address(target)

    async def serve(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, upstream_writer, delay),
            pump(upstream_reader, client_writer, delay),
        )

    host, port = split_address(listen)
    server = await asyncio.start_server(serve, host, port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main())

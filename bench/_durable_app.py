"""A second baseline for webhook mode: the bare Starlette app of _hello_app.py that also keeps
each posted body durably, with one INSERT committed in PostgreSQL before it answers 200 (a
pool of 16 asyncpg connections, as many as the posters).

Nothing less can take a webhook without losing an update on a crash, so its rate divided by the
hello app's is what storing alone leaves of the target; `doithoai run --webhook` must also
process each update (dedupe, state, replies) in a transaction of its own.

    python bench/_durable_app.py PORT POSTGRES_URL
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

URL = sys.argv[2] if len(sys.argv) > 2 else ""
pool: asyncpg.Pool | None = None


@contextlib.asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(URL, min_size=16, max_size=16)
    async with pool.acquire() as connection:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_events (id bigserial PRIMARY KEY, body bytea)"
        )
    yield
    await pool.close()


async def telegram(request: Request) -> Response:
    body = await request.body()
    async with pool.acquire() as connection:
        await connection.execute("INSERT INTO bench_floor_events (body) VALUES ($1)", body)
    return Response(status_code=200)


app = Starlette(routes=[Route("/telegram", telegram, methods=["POST"])], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)

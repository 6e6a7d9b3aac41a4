"""The bare baseline the webhook benchmark divides by: a Starlette app that reads the posted
body and answers 200, served by uvicorn on 127.0.0.1:PORT as `doithoai run --webhook` serves
its own app."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def telegram(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)


app = Starlette(routes=[Route("/telegram", telegram, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)

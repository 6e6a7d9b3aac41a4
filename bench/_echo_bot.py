"""The bare baseline the flow benchmark divides by: a python-telegram-bot echo bot polling the
Bot API at BENCH_API_URL (the benchmark's fake), as its tutorial writes one. It answers a
button press and says the button's data back, and says back whatever text it is sent."""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    await context.bot.send_message(query.message.chat.id, f"pressed {query.data}")


def main() -> None:
    api = os.environ["BENCH_API_URL"]
    application = (
        Application.builder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    application.run_polling(allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    main()

"""Conversations, one module per flow, channel-neutral: each handler reads a Context and says Replies.

Nothing here imports a platform library; storage is reached through storage/ functions, and
the dispatcher owns the transaction.
"""

"""Zalo Official Account, on httpx alone: webhook events in, customer-service messages out.

Everything Zalo-specific stays here: checking the webhook's signature, turning events into
Incoming, plain-text rendering (Zalo shows no markup), buttons as `oa.query.show` templates or
numbered options, the phone request template, image upload, Zalo's error codes as neutral
delivery outcomes, and the OA's access token, refreshed with its single-use refresh token.

Where the shapes come from (developers.zalo.me, "Official Account API" and "Webhook"):
- webhook: POST with header `X-ZEvent-Signature: mac=<hex>`, where the mac is
  sha256(app_id + raw body + timestamp + OA secret key) and the timestamp is the event's own
  "timestamp" field (milliseconds, a string); events carry "event_name", "app_id", "sender"
  {"id"} (or "follower" {"id"} for follow/unfollow), "recipient", "timestamp", and for messages
  "message" {"msg_id", "text", "attachments": [{"type", "payload"}]}; `user_submit_info` carries
  "info" {"name", "phone", "address", "city", "district", "ward"} and no msg_id;
- sending: POST {api}/v3.0/oa/message/cs, header `access_token`, JSON {"recipient":
  {"user_id"}, "message": {"text"} | {"text", "attachment": {"type": "template", "payload":
  {"buttons": [{"title", "type": "oa.query.show", "payload"}]}}} | {"attachment": template
  "request_user_info" | "media"}}; text at most 2000 characters, a button title at most 100,
  an `oa.query.show` payload at most 1000; the answer is {"error": 0, "message": "Success",
  "data": {"message_id", "user_id"}} or a negative error with its message;
- image upload: POST {api}/v2.0/oa/upload/image, multipart "file" (jpg/png, 1 MB), answer
  {"error": 0, "data": {"attachment_id"}};
- a follower's profile: GET {api}/v3.0/oa/user/detail?data={"user_id": "..."}, header
  `access_token`, answer {"error": 0, "message": "Success", "data": {"user_id",
  "display_name", "avatar", "user_is_follower", ...}} (the successor of v2.0 `getprofile`);
- tokens: POST {oauth}/v4/oa/access_token, header `secret_key` (the app's secret), form
  app_id, grant_type=refresh_token, refresh_token -> {"access_token", "refresh_token",
  "expires_in": "90000"} (seconds, a string); the refresh token is single-use and rotates.
  A refusal has "error" (negative) and "error_name"/"error_description".

The package: `events` (the signature, events as Incoming: pure), `tokens` (the access token's
lease and refresh), `sending` (messages out, Zalo's errors as neutral outcomes) and `channel`
(ZaloChannel, the one contract over them).
"""

from __future__ import annotations

from .channel import PROFILE_CACHE, PROFILE_TIMEOUT, ZaloChannel
from .events import MAX_EVENT_BYTES, NAME, SIGNATURE_HEADER, event_age, event_key, verify_signature
from .sending import (
    IMAGE_LIMIT,
    MAX_BUTTONS,
    RATE_BACKOFF,
    TEXT_LIMIT,
    TOKEN_BACKOFF,
    plain,
    split_text,
)
from .tokens import REFRESH_LEASE, REFRESH_MARGIN, TokenKeeper, TokensUnusable

__all__ = [
    "IMAGE_LIMIT",
    "MAX_BUTTONS",
    "MAX_EVENT_BYTES",
    "NAME",
    "PROFILE_CACHE",
    "PROFILE_TIMEOUT",
    "RATE_BACKOFF",
    "REFRESH_LEASE",
    "REFRESH_MARGIN",
    "SIGNATURE_HEADER",
    "TEXT_LIMIT",
    "TOKEN_BACKOFF",
    "TokenKeeper",
    "TokensUnusable",
    "ZaloChannel",
    "event_age",
    "event_key",
    "plain",
    "split_text",
    "verify_signature",
]

"""The built-in WebSub hub (W3C WebSub Recommendation, sections 5 to 8).

A subscriber POSTs `hub.mode`, `hub.topic`, `hub.callback` (and optionally
`hub.lease_seconds`, `hub.secret`) to /websub/hub. The request is checked and
answered `202 Accepted` or a 4xx with the reason; nothing else happens on the
request path. The delivery loop then verifies intent (5.3: a GET to the
callback that must echo `hub.challenge`), stores or removes the subscription
in the state file, and later POSTs each new version of the feed (7), signed
with `X-Hub-Signature: sha256=...` only when a secret was given.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from feedserver.push.delivery import Deliverer, Outcome, outcome_of
from feedserver.push.publisher import builtin_hub_url
from feedserver.push.store import Job, PushStore
from feedserver.push.topics import topic_document
from feedserver.service import FeedService

logger = logging.getLogger("feedserver.push")
MAX_BODY = 16384  # a subscription request is a few hundred bytes
MAX_SECRET_BYTES = 200  # W3C WebSub 5.1: "MUST be less than 200 bytes"
MAX_URL_LENGTH = 2048


async def callback_problem(url: str, allow_private: bool) -> str | None:
    """Why the hub will not call this URL, or None. Private, loopback, link-local and
    other non-public addresses are refused unless allowed: the hub must not be a way
    into the network it runs in."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
        return "hub.callback must be an absolute http(s) URL"
    if allow_private:
        return None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "hub.callback's host does not resolve"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return "hub.callback is on a private or loopback address"
    return None


def with_query(url: str, params: dict[str, str]) -> str:
    """The callback URL with the hub's parameters added to any it already has (5.3)."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return parts._replace(query=query, fragment="").geturl()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Hub:
    def __init__(self, service: FeedService, store: PushStore, deliverer: Deliverer) -> None:
        self.service = service
        self.store = store
        self.deliverer = deliverer
        self.settings = service.settings
        self.url = builtin_hub_url(self.settings.base_url)
        self.allow_private = bool(self.settings["websub.allow_private_callbacks"])
        deliverer.handlers["verify"] = self.verify
        deliverer.handlers["deliver"] = self.deliver
        deliverer.chores.append(self.expire)

    def _bad(self, reason: str, status: int = 400) -> Response:
        return PlainTextResponse(reason + "\n", status_code=status, headers={"Cache-Control": "no-store"})

    async def endpoint(self, request: Request) -> Response:
        """5.1: the subscription request. Unknown parameters are ignored."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            return self._bad("Send the request as application/x-www-form-urlencoded.", 415)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return self._bad("Request too large.", 413)
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return self._bad("The request is not UTF-8.")
        mode, topic, callback = form.get("hub.mode", ""), form.get("hub.topic", ""), form.get("hub.callback", "")
        if mode not in ("subscribe", "unsubscribe"):
            return self._bad("hub.mode must be subscribe or unsubscribe (publishing is for this server only).")
        if not topic:
            return self._bad("hub.topic is missing.")
        if topic_document(self.settings, self.service.state, topic, None) is None:
            return self._bad("hub.topic is not a feed served here.")
        if problem := await callback_problem(callback, self.allow_private):
            return self._bad(problem + ".")
        payload: dict[str, Any] = {"mode": mode}
        if mode == "subscribe":
            lease = self.settings["websub.lease_seconds"]
            if "hub.lease_seconds" in form:
                try:
                    lease = int(form["hub.lease_seconds"])
                except ValueError:
                    return self._bad("hub.lease_seconds must be a whole number of seconds.")
            low, high = self.settings["websub.min_lease_seconds"], self.settings["websub.max_lease_seconds"]
            payload["lease_seconds"] = max(low, min(high, lease))  # 5.1: the hub picks within its bounds
            secret = form.get("hub.secret")
            if secret is not None:
                if len(secret.encode()) >= MAX_SECRET_BYTES or not secret:
                    return self._bad("hub.secret must be 1 to 199 bytes.")
                if urlsplit(callback).scheme != "https" and not self.allow_private:
                    return self._bad("hub.secret needs an https callback (W3C WebSub 5.1).")
                payload["secret"] = secret
            refused = await asyncio.to_thread(self._over_limits, topic, callback)
            if refused:
                return self._bad(refused, 429)
        nonce = secrets.token_urlsafe(12)
        await asyncio.to_thread(self.store.enqueue, [("verify", callback, topic, nonce, payload)], self.service.clock())
        self.deliverer.wake()
        return PlainTextResponse("Accepted: the callback will be asked to confirm.\n", status_code=202)

    def _over_limits(self, topic: str, callback: str) -> str | None:
        now = self.service.clock()
        if self.store.subscription(topic, callback, now) is not None:
            return None  # a renewal
        per_topic, total = self.store.subscription_counts(topic, now)
        pending = self.store.pending("verify")
        if per_topic >= self.settings["websub.max_subscriptions_per_topic"]:
            return "Too many subscriptions to this feed."
        if total + pending >= self.settings["websub.max_subscriptions"]:
            return "Too many subscriptions."
        return None

    async def verify(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        """5.3: verification of intent. The subscription exists only once the callback
        echoed the challenge; a refusal (4xx or a wrong echo) is final."""
        if await callback_problem(job.target, self.allow_private):
            return Outcome.DROP
        mode = job.payload["mode"]
        challenge = secrets.token_urlsafe(24)
        params = {"hub.mode": mode, "hub.topic": job.topic, "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(job.payload["lease_seconds"])
        response = await client.get(with_query(job.target, params))
        outcome = outcome_of(response)
        if outcome is Outcome.DONE and response.text != challenge:
            outcome = Outcome.DROP
        if outcome is Outcome.DONE:
            if mode == "subscribe":
                expires = self.service.clock() + job.payload["lease_seconds"]
                await asyncio.to_thread(self.store.subscribe, job.topic, job.target, job.payload.get("secret"), expires)
            else:
                await asyncio.to_thread(self.store.unsubscribe, job.topic, job.target)
            logger.info("websub %s verified: %s for %s", mode, job.target, job.topic)
        elif outcome is Outcome.DROP:
            logger.info("websub %s refused by the callback %s for %s", mode, job.target, job.topic)
        return outcome

    async def deliver(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        """7: content distribution of the full new feed, with its own Content-Type and
        the hub and self links; signed only when the subscription has a secret."""
        now = self.service.clock()
        subscription = await asyncio.to_thread(self.store.subscription, job.topic, job.target, now)
        content = await asyncio.to_thread(self.store.content, job.topic, job.version)
        if subscription is None or content is None or await callback_problem(job.target, self.allow_private):
            return Outcome.DROP  # unsubscribed or expired meanwhile
        content_type, body = content
        headers = {"Content-Type": content_type, "Link": f'<{self.url}>; rel="hub", <{job.topic}>; rel="self"'}
        if subscription.secret:
            headers["X-Hub-Signature"] = signature(subscription.secret, body)
        response = await client.post(job.target, content=body, headers=headers)
        if response.status_code == 410:  # 7: the subscriber is gone; the hub may end the subscription
            await asyncio.to_thread(self.store.unsubscribe, job.topic, job.target)
            return Outcome.DROP
        # Any other failure is retried with backoff, then given up (push.max_attempts).
        return Outcome.DONE if response.is_success else Outcome.RETRY

    async def expire(self) -> None:
        """Leases end by themselves (5.1); the rows go with them."""
        await asyncio.to_thread(self.store.expire, self.service.clock())

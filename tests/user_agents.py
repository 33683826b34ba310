"""A replayed set of realistic User-Agent strings, as feed servers see them,
with what each should count for. Shared by the audience tests."""

from __future__ import annotations

# (User-Agent, aggregator name or None, its subscriber count or None, feed id)
AGGREGATORS = [
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 457 subscribers; like FeedFetcher-Google)", "Feedly", 457, ""),
    (
        "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher; 17 subscribers; )",
        "Inoreader",
        17,
        "",
    ),
    ("Feedbin feed-id:1234 - 9 subscribers", "Feedbin", 9, "1234"),
    (
        "NewsBlur Feed Fetcher - 5 subscribers - https://www.newsblur.com/site/6051/kabar-tiongkok "
        "(Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Safari/605.1.15)",
        "NewsBlur",
        5,
        "",
    ),
    (
        "Mozilla/5.0 (compatible; theoldreader.com; 3 subscribers; feed-id=ab12cd34ef)",
        "The Old Reader",
        3,
        "ab12cd34ef",
    ),
    ("Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 2 subscribers)", "BazQux", 2, ""),
]

READERS = [
    ("newsboat/2.36.0 (Linux x86_64)", "newsboat"),
    ("NetNewsWire (RSS Reader; https://netnewswire.com/)", "NetNewsWire"),
    ("Mozilla/5.0 (compatible; Miniflux/2.1.3; +https://miniflux.app)", "Miniflux"),
    ("FreshRSS/1.24.1 (Linux; https://freshrss.org)", "FreshRSS"),
    ("feedparser/6.0.11 +https://github.com/kurtmckee/feedparser/", "feedparser"),
]

NOT_COUNTED = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "Wget/1.21.4",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "python-requests/2.32.3",
    # A spoofed Feedly string with no subscriber count: not counted at all.
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)",
    "",
]

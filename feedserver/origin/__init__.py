"""feedserver as the origin of a shared cache (nginx, Varnish, a CDN).

`headers`: what a cache may keep and for how long (Cache-Control, CDN-Cache-Control)
and what each document depends on (Surrogate-Key, Cache-Tag). `keys`: the
surrogate keys, and which of them a change touched. `purge`: the optional hook
that tells the cache to drop exactly those.
"""

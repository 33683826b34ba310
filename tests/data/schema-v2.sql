-- feedserver database contract, schema version 2 (PRAGMA user_version = 2).
--
-- The CMS writes this database; feedserver only reads it. Times are whole
-- seconds since the Unix epoch (UTC), so they sort and compare correctly
-- whatever offset the CMS wrote them with. Text is UTF-8.
--
-- The triggers at the end are part of the contract: they keep
-- `sections.changed_at`, `sections.revision` and `articles.revision` current
-- for every writer, so the server can tell which feeds a write affects
-- without reading them. Other triggers refuse rows that break the contract
-- (a time that is not whole seconds, a blank title, a slug no URL can hold),
-- whoever writes them: see "Refused writes" below.

CREATE TABLE IF NOT EXISTS sections (
    slug        TEXT PRIMARY KEY,            -- path such as 'berita/tiongkok'; the parent is 'berita'
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    changed_at  INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
                                              -- newest write that touched a public article here; never decreases
    revision    INTEGER NOT NULL DEFAULT 0, -- bumped with changed_at by every such write: two writes
                                              -- within one second share a changed_at, never a revision
    implied     INTEGER NOT NULL DEFAULT 0  -- 1: declared by the triggers from an article's slug, not by
                                              -- a writer; such a section exists only once an article in it is live
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS articles (
    pk                   INTEGER PRIMARY KEY, -- internal row id, used by the link tables
    id                   TEXT NOT NULL UNIQUE, -- the CMS's stable id; feed item ids derive from it
    url                  TEXT NOT NULL,        -- canonical absolute URL
    section              TEXT NOT NULL,        -- sections.slug
    title                TEXT NOT NULL,
    summary              TEXT NOT NULL DEFAULT '',
    content_html         TEXT NOT NULL DEFAULT '',
    published_at         INTEGER NOT NULL,     -- epoch seconds, UTC
    updated_at           INTEGER NOT NULL,     -- epoch seconds, UTC; >= published_at
    status               TEXT NOT NULL CHECK (status IN ('published', 'draft', 'deleted')),
    image_url            TEXT,                 -- hero image, absolute URL
    image_caption        TEXT,
    image_credit         TEXT,
    image_width          INTEGER,
    image_height         INTEGER,
    image_type           TEXT,                 -- MIME type such as 'image/jpeg'
    source               TEXT,                 -- source credit
    language             TEXT,                 -- NULL means the site's language
    reading_time_minutes INTEGER NOT NULL DEFAULT 1,
    revision             INTEGER NOT NULL DEFAULT 0 -- bumped by the triggers on every change
);

-- Section feeds: newest visible articles of one section (scanned backwards).
CREATE INDEX IF NOT EXISTS articles_section_status_published
    ON articles (section, status, published_at, id);
-- Site feed, sitemaps and the next scheduled publication. It covers what an
-- article sitemap shows (updated_at, url, image_url), so a sitemap's per-day
-- count and lastmod, and its 50,000 URLs, are read from the index alone: a row
-- lookup costs more, the more so as a row with its content_html spills into
-- overflow pages (measured at 1,000,000 articles: 50,000 URLs in 60 ms instead
-- of 155 ms; the full count of the archive 10% slower for the wider entries).
CREATE INDEX IF NOT EXISTS articles_status_published
    ON articles (status, published_at, id, updated_at, url, image_url);

-- Sitemap change stamps: one row per UTC hour (by published_at) that holds or
-- held a published article. The triggers below give a row a new `version`
-- (one sequence for the whole table) whenever a write adds, removes or changes
-- what a sitemap shows of an article in that hour, so the server reads only
-- the rows past the last version it saw to know which sitemap files changed,
-- whatever the archive's size. Hours, not days or months: sitemap files are
-- cut at midnight in the site's time zone, which the database does not know.
CREATE TABLE IF NOT EXISTS sitemap_hours (
    hour_start INTEGER PRIMARY KEY,  -- epoch seconds of the UTC hour's start
    version    INTEGER NOT NULL,     -- newest change; grows by one with each
    changed_at INTEGER NOT NULL      -- wall clock of that change; never decreases
);
CREATE INDEX IF NOT EXISTS sitemap_hours_version ON sitemap_hours (version);

CREATE TABLE IF NOT EXISTS authors (
    pk    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    url   TEXT NOT NULL DEFAULT '',  -- '' when unknown (NULLs would defeat the UNIQUE)
    email TEXT NOT NULL DEFAULT '',
    UNIQUE (name, url, email)
);

CREATE TABLE IF NOT EXISTS article_authors (
    article_pk INTEGER NOT NULL REFERENCES articles (pk) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    author_pk  INTEGER NOT NULL REFERENCES authors (pk),
    PRIMARY KEY (article_pk, position)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tags (
    pk   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS article_tags (
    article_pk INTEGER NOT NULL REFERENCES articles (pk) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    tag_pk     INTEGER NOT NULL REFERENCES tags (pk),
    PRIMARY KEY (article_pk, position)
) WITHOUT ROWID;

-- An article may name a section nobody declared: declare it from its slug.
-- Only a published article does so: a draft in a new section must not put the
-- section's name on the front page before its time. The section is marked
-- `implied`: the server shows it only once an article in it is live, so an
-- embargoed article does not announce its section either. (NOT EXISTS, not OR
-- IGNORE: inside an upsert the outer statement's conflict handling would
-- override it.)
CREATE TRIGGER IF NOT EXISTS articles_declare_section
BEFORE INSERT ON articles
WHEN NEW.status = 'published'
BEGIN
    INSERT INTO sections (slug, title, implied)
    SELECT NEW.section, replace(substr(NEW.section, length(rtrim(NEW.section, replace(NEW.section, '/', ''))) + 1), '-', ' '), 1
    WHERE NOT EXISTS (SELECT 1 FROM sections WHERE slug = NEW.section);
END;

CREATE TRIGGER IF NOT EXISTS articles_declare_section_on_publish
BEFORE UPDATE OF status, section ON articles
WHEN NEW.status = 'published'
BEGIN
    INSERT INTO sections (slug, title, implied)
    SELECT NEW.section, replace(substr(NEW.section, length(rtrim(NEW.section, replace(NEW.section, '/', ''))) + 1), '-', ' '), 1
    WHERE NOT EXISTS (SELECT 1 FROM sections WHERE slug = NEW.section);
END;

-- Declaring a section moves no feed's date: a new section's changed_at starts
-- at 0, and only writes to public articles move it (below).
CREATE TRIGGER IF NOT EXISTS sections_declared_undated
AFTER INSERT ON sections
WHEN NEW.revision = 0 AND NEW.changed_at <> 0
BEGIN
    UPDATE sections SET changed_at = 0 WHERE slug = NEW.slug;
END;

-- INSERT OR REPLACE deletes the old row without running the DELETE triggers
-- (unless the writer enabled recursive_triggers): treat the row it is about to
-- replace as deleted here, so the section and the sitemap and feed hours the
-- article leaves are stamped (feed_hours is created below). An upsert (INSERT ... ON CONFLICT DO UPDATE) passes here
-- too; it then runs the UPDATE triggers as well, and one more stamp costs
-- only a re-render.
CREATE TRIGGER IF NOT EXISTS articles_replaced
BEFORE INSERT ON articles
WHEN EXISTS (SELECT 1 FROM articles o WHERE (o.id = NEW.id OR o.pk = NEW.pk) AND o.status = 'published'
             AND (o.section IS NOT NEW.section OR o.status IS NOT NEW.status OR o.published_at IS NOT NEW.published_at
                  OR o.url IS NOT NEW.url))
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER)),
        revision = revision + 1
    WHERE slug IN (SELECT o.section FROM articles o WHERE (o.id = NEW.id OR o.pk = NEW.pk)
                   AND o.status = 'published' AND o.published_at <= CAST(strftime('%s', 'now') AS INTEGER));
    INSERT INTO sitemap_hours (hour_start, version, changed_at)
    SELECT o.published_at - ((o.published_at % 3600) + 3600) % 3600,
           (SELECT coalesce(max(version), 0) + 1 FROM sitemap_hours),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM articles o WHERE (o.id = NEW.id OR o.pk = NEW.pk) AND o.status = 'published'
        AND typeof(o.published_at) = 'integer'
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
    INSERT INTO feed_hours (hour_start, version, changed_at)
    SELECT o.published_at - ((o.published_at % 3600) + 3600) % 3600,
           (SELECT coalesce(max(version), 0) + 1 FROM feed_hours),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM articles o WHERE (o.id = NEW.id OR o.pk = NEW.pk) AND o.status = 'published'
        AND typeof(o.published_at) = 'integer'
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

-- Every change to an article bumps its revision (the nested UPDATE changes
-- revision, so its own WHEN is false and it does not recurse).
CREATE TRIGGER IF NOT EXISTS articles_bump_revision
AFTER UPDATE ON articles
WHEN NEW.revision = OLD.revision
BEGIN
    UPDATE articles SET revision = OLD.revision + 1 WHERE pk = NEW.pk;
END;

-- A write that touches a public article moves its section's changed_at
-- forward, never back: feeds date themselves from it, so deleting the newest
-- article does not make a feed look older.
-- Only writes to articles that are public, before or after, count: scheduling
-- an embargoed article must not move a feed's date or ETag (that would tell
-- readers something is coming); it shows by its publish time when due.
CREATE TRIGGER IF NOT EXISTS articles_touch_section_insert
AFTER INSERT ON articles
WHEN NEW.status = 'published' AND NEW.published_at <= CAST(strftime('%s', 'now') AS INTEGER)
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER)),
        revision = revision + 1
    WHERE slug = NEW.section;
END;

CREATE TRIGGER IF NOT EXISTS articles_touch_section_update
AFTER UPDATE ON articles
WHEN (OLD.status = 'published' AND OLD.published_at <= CAST(strftime('%s', 'now') AS INTEGER))
    OR (NEW.status = 'published' AND NEW.published_at <= CAST(strftime('%s', 'now') AS INTEGER))
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER)),
        revision = revision + 1
    WHERE slug IN (OLD.section, NEW.section);
END;

CREATE TRIGGER IF NOT EXISTS articles_touch_section_delete
AFTER DELETE ON articles
WHEN OLD.status = 'published' AND OLD.published_at <= CAST(strftime('%s', 'now') AS INTEGER)
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER)),
        revision = revision + 1
    WHERE slug = OLD.section;
END;

-- Authors and tags are part of an article: changing its links is changing it.
CREATE TRIGGER IF NOT EXISTS article_authors_insert AFTER INSERT ON article_authors
BEGIN UPDATE articles SET revision = revision + 1 WHERE pk = NEW.article_pk; END;
CREATE TRIGGER IF NOT EXISTS article_authors_delete AFTER DELETE ON article_authors
BEGIN UPDATE articles SET revision = revision + 1 WHERE pk = OLD.article_pk; END;
CREATE TRIGGER IF NOT EXISTS article_tags_insert AFTER INSERT ON article_tags
BEGIN UPDATE articles SET revision = revision + 1 WHERE pk = NEW.article_pk; END;
CREATE TRIGGER IF NOT EXISTS article_tags_delete AFTER DELETE ON article_tags
BEGIN UPDATE articles SET revision = revision + 1 WHERE pk = OLD.article_pk; END;
CREATE TRIGGER IF NOT EXISTS tags_update AFTER UPDATE ON tags
BEGIN
    UPDATE articles SET revision = revision + 1
    WHERE pk IN (SELECT article_pk FROM article_tags WHERE tag_pk = NEW.pk);
END;
-- A section's title and description are in its feeds (and its parents'):
-- renaming it is a change to them, dated like any other.
CREATE TRIGGER IF NOT EXISTS sections_update AFTER UPDATE OF title, description ON sections
WHEN OLD.title IS NOT NEW.title OR OLD.description IS NOT NEW.description
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER)),
        revision = revision + 1
    WHERE slug = NEW.slug;
END;
CREATE TRIGGER IF NOT EXISTS authors_update AFTER UPDATE ON authors
BEGIN
    UPDATE articles SET revision = revision + 1
    WHERE pk IN (SELECT article_pk FROM article_authors WHERE author_pk = NEW.pk);
END;

-- Sitemap stamps (see sitemap_hours). An update stamps both the old and the
-- new hour, and only when a column a sitemap shows changed: the revision bump
-- above and link changes leave sitemaps alone. The hour start is a floor
-- division written out, as SQLite's `/` truncates toward zero.
CREATE TRIGGER IF NOT EXISTS articles_stamp_sitemap_insert
AFTER INSERT ON articles
WHEN NEW.status = 'published'
BEGIN
    INSERT INTO sitemap_hours (hour_start, version, changed_at)
    VALUES (NEW.published_at - ((NEW.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM sitemap_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

CREATE TRIGGER IF NOT EXISTS articles_stamp_sitemap_update
AFTER UPDATE ON articles
WHEN (OLD.status = 'published' OR NEW.status = 'published')
    AND (OLD.status IS NOT NEW.status OR OLD.published_at IS NOT NEW.published_at
         OR OLD.updated_at IS NOT NEW.updated_at OR OLD.url IS NOT NEW.url
         OR OLD.image_url IS NOT NEW.image_url OR OLD.title IS NOT NEW.title
         OR OLD.language IS NOT NEW.language OR OLD.id IS NOT NEW.id)
BEGIN
    INSERT INTO sitemap_hours (hour_start, version, changed_at)
    VALUES (OLD.published_at - ((OLD.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM sitemap_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
    INSERT INTO sitemap_hours (hour_start, version, changed_at)
    VALUES (NEW.published_at - ((NEW.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM sitemap_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

CREATE TRIGGER IF NOT EXISTS articles_stamp_sitemap_delete
AFTER DELETE ON articles
WHEN OLD.status = 'published'
BEGIN
    INSERT INTO sitemap_hours (hour_start, version, changed_at)
    VALUES (OLD.published_at - ((OLD.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM sitemap_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

-- Refused writes. A row that breaks the contract is refused whoever writes it,
-- with a message naming the column (the server also reads around such rows in
-- a database written before these triggers: see the README's contract).
-- Times are whole seconds (an INTEGER; a TEXT date or a REAL would sort and
-- compare wrongly); a title has a visible character; a section slug is a path
-- of lower-case words joined by '-' or '_', as in its feed URL.
CREATE TRIGGER IF NOT EXISTS articles_refuse_insert
BEFORE INSERT ON articles
BEGIN
    SELECT RAISE(ABORT, 'articles.published_at must be whole seconds since the epoch (an INTEGER)')
    WHERE typeof(NEW.published_at) <> 'integer';
    SELECT RAISE(ABORT, 'articles.updated_at must be whole seconds since the epoch (an INTEGER)')
    WHERE typeof(NEW.updated_at) <> 'integer';
    SELECT RAISE(ABORT, 'articles.title must be text with a visible character')
    WHERE typeof(NEW.title) <> 'text' OR trim(NEW.title, ' ' || char(9, 10, 13)) = '';
    SELECT RAISE(ABORT, 'articles.section must be a slug such as berita/tiongkok (a-z, 0-9, - _ /)')
    WHERE typeof(NEW.section) <> 'text' OR NEW.section = '' OR NEW.section GLOB '*[^a-z0-9/_-]*'
        OR NEW.section GLOB '[/_-]*' OR NEW.section GLOB '*[/_-]' OR NEW.section GLOB '*[/_-][/_-]*';
END;

CREATE TRIGGER IF NOT EXISTS articles_refuse_update
BEFORE UPDATE OF published_at, updated_at, title, section ON articles
BEGIN
    SELECT RAISE(ABORT, 'articles.published_at must be whole seconds since the epoch (an INTEGER)')
    WHERE typeof(NEW.published_at) <> 'integer';
    SELECT RAISE(ABORT, 'articles.updated_at must be whole seconds since the epoch (an INTEGER)')
    WHERE typeof(NEW.updated_at) <> 'integer';
    SELECT RAISE(ABORT, 'articles.title must be text with a visible character')
    WHERE typeof(NEW.title) <> 'text' OR trim(NEW.title, ' ' || char(9, 10, 13)) = '';
    SELECT RAISE(ABORT, 'articles.section must be a slug such as berita/tiongkok (a-z, 0-9, - _ /)')
    WHERE typeof(NEW.section) <> 'text' OR NEW.section = '' OR NEW.section GLOB '*[^a-z0-9/_-]*'
        OR NEW.section GLOB '[/_-]*' OR NEW.section GLOB '*[/_-]' OR NEW.section GLOB '*[/_-][/_-]*';
END;

CREATE TRIGGER IF NOT EXISTS sections_refuse_insert
BEFORE INSERT ON sections
BEGIN
    SELECT RAISE(ABORT, 'sections.slug must be a slug such as berita/tiongkok (a-z, 0-9, - _ /)')
    WHERE typeof(NEW.slug) <> 'text' OR NEW.slug = '' OR NEW.slug GLOB '*[^a-z0-9/_-]*'
        OR NEW.slug GLOB '[/_-]*' OR NEW.slug GLOB '*[/_-]' OR NEW.slug GLOB '*[/_-][/_-]*';
END;

CREATE TRIGGER IF NOT EXISTS sections_refuse_update
BEFORE UPDATE OF slug ON sections
BEGIN
    SELECT RAISE(ABORT, 'sections.slug must be a slug such as berita/tiongkok (a-z, 0-9, - _ /)')
    WHERE typeof(NEW.slug) <> 'text' OR NEW.slug = '' OR NEW.slug GLOB '*[^a-z0-9/_-]*'
        OR NEW.slug GLOB '[/_-]*' OR NEW.slug GLOB '*[/_-]' OR NEW.slug GLOB '*[/_-][/_-]*';
END;

-- Feed archive stamps: like sitemap_hours, but moved by every change to a
-- published article (any column, its authors and tags, their renames: all
-- reach the article's row through articles_bump_revision). A feed archive
-- (a calendar month of a feed, RFC 5005) shows the whole article, so a change
-- a sitemap cannot see (the summary, the content) must still tell the server
-- which month's archive to render again, and no other. Added within schema
-- version 1: init-db creates it in a database that lacks it.
CREATE TABLE IF NOT EXISTS feed_hours (
    hour_start INTEGER PRIMARY KEY,  -- epoch seconds of the UTC hour's start (by published_at)
    version    INTEGER NOT NULL,     -- newest change; grows by one with each
    changed_at INTEGER NOT NULL      -- wall clock of that change; never decreases
);
CREATE INDEX IF NOT EXISTS feed_hours_version ON feed_hours (version);

CREATE TRIGGER IF NOT EXISTS articles_stamp_feed_insert
AFTER INSERT ON articles
WHEN NEW.status = 'published'
BEGIN
    INSERT INTO feed_hours (hour_start, version, changed_at)
    VALUES (NEW.published_at - ((NEW.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM feed_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

CREATE TRIGGER IF NOT EXISTS articles_stamp_feed_update
AFTER UPDATE ON articles
WHEN OLD.status = 'published' OR NEW.status = 'published'
BEGIN
    INSERT INTO feed_hours (hour_start, version, changed_at)
    VALUES (OLD.published_at - ((OLD.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM feed_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
    INSERT INTO feed_hours (hour_start, version, changed_at)
    VALUES (NEW.published_at - ((NEW.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM feed_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

CREATE TRIGGER IF NOT EXISTS articles_stamp_feed_delete
AFTER DELETE ON articles
WHEN OLD.status = 'published'
BEGIN
    INSERT INTO feed_hours (hour_start, version, changed_at)
    VALUES (OLD.published_at - ((OLD.published_at % 3600) + 3600) % 3600,
            (SELECT coalesce(max(version), 0) + 1 FROM feed_hours),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (hour_start) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

-- feedserver database contract, schema version 1 (PRAGMA user_version = 1).
--
-- The CMS writes this database; feedserver only reads it. Times are whole
-- seconds since the Unix epoch (UTC), so they sort and compare correctly
-- whatever offset the CMS wrote them with. Text is UTF-8.
--
-- The triggers at the end are part of the contract: they keep
-- `sections.changed_at`, `sections.revision` and `articles.revision` current
-- for every writer, so the server can tell which feeds a write affects
-- without reading them.

CREATE TABLE IF NOT EXISTS sections (
    slug        TEXT PRIMARY KEY,            -- path such as 'berita/tiongkok'; the parent is 'berita'
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    changed_at  INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
                                              -- newest write that touched a public article here; never decreases
    revision    INTEGER NOT NULL DEFAULT 0  -- bumped with changed_at by every such write: two writes
                                              -- within one second share a changed_at, never a revision
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
-- section's name on the front page before its time. (NOT EXISTS, not OR IGNORE:
-- inside an upsert the outer statement's conflict handling would override it.)
CREATE TRIGGER IF NOT EXISTS articles_declare_section
BEFORE INSERT ON articles
WHEN NEW.status = 'published'
BEGIN
    INSERT INTO sections (slug, title)
    SELECT NEW.section, replace(substr(NEW.section, length(rtrim(NEW.section, replace(NEW.section, '/', ''))) + 1), '-', ' ')
    WHERE NOT EXISTS (SELECT 1 FROM sections WHERE slug = NEW.section);
END;

CREATE TRIGGER IF NOT EXISTS articles_declare_section_on_publish
BEFORE UPDATE OF status, section ON articles
WHEN NEW.status = 'published'
BEGIN
    INSERT INTO sections (slug, title)
    SELECT NEW.section, replace(substr(NEW.section, length(rtrim(NEW.section, replace(NEW.section, '/', ''))) + 1), '-', ' ')
    WHERE NOT EXISTS (SELECT 1 FROM sections WHERE slug = NEW.section);
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

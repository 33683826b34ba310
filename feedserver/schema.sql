-- feedserver database contract, schema version 1 (PRAGMA user_version = 1).
--
-- The CMS writes this database; feedserver only reads it. Times are whole
-- seconds since the Unix epoch (UTC), so they sort and compare correctly
-- whatever offset the CMS wrote them with. Text is UTF-8.
--
-- The triggers at the end are part of the contract: they keep
-- `sections.changed_at` and `articles.revision` current for every writer, so
-- the server can tell which feeds a write affects without reading them.

CREATE TABLE IF NOT EXISTS sections (
    slug        TEXT PRIMARY KEY,            -- path such as 'berita/tiongkok'; the parent is 'berita'
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    changed_at  INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
                                              -- newest write that touched a public article here; never decreases
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
-- Site feed, news sitemap and the next scheduled publication.
CREATE INDEX IF NOT EXISTS articles_status_published
    ON articles (status, published_at, id);

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
CREATE TRIGGER IF NOT EXISTS articles_declare_section
BEFORE INSERT ON articles
BEGIN
    INSERT OR IGNORE INTO sections (slug, title)
    VALUES (NEW.section, replace(substr(NEW.section, length(rtrim(NEW.section, replace(NEW.section, '/', ''))) + 1), '-', ' '));
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
CREATE TRIGGER IF NOT EXISTS articles_touch_section_insert
AFTER INSERT ON articles
WHEN NEW.status = 'published'
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER))
    WHERE slug = NEW.section;
END;

CREATE TRIGGER IF NOT EXISTS articles_touch_section_update
AFTER UPDATE ON articles
WHEN OLD.status = 'published' OR NEW.status = 'published'
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER))
    WHERE slug IN (OLD.section, NEW.section);
END;

CREATE TRIGGER IF NOT EXISTS articles_touch_section_delete
AFTER DELETE ON articles
WHEN OLD.status = 'published'
BEGIN
    UPDATE sections SET changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER))
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
CREATE TRIGGER IF NOT EXISTS authors_update AFTER UPDATE ON authors
BEGIN
    UPDATE articles SET revision = revision + 1
    WHERE pk IN (SELECT article_pk FROM article_authors WHERE author_pk = NEW.pk);
END;

-- feedserver database contract, schema version 2 (PRAGMA user_version = 2).
--
-- The CMS writes this database; feedserver only reads it. Times are whole
-- seconds since the Unix epoch (UTC), so they sort and compare correctly
-- whatever offset the CMS wrote them with. Text is UTF-8.
--
-- The triggers are part of the contract: they keep `sections.changed_at`,
-- `sections.revision`, `articles.revision`, `sitemap_hours` and `feed_stamps`
-- current for every writer, so the server can tell which feeds a write
-- affects without reading them.

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
    pk          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL DEFAULT '',  -- '' when unknown (NULLs would defeat the UNIQUE)
    email       TEXT NOT NULL DEFAULT '',
    slug        TEXT,  -- /author/{slug}/: lower-case ASCII letters, digits and '-'; NULL: derived (README)
    slug_source TEXT,  -- the name when the row was written without a slug (a trigger sets it): what
                       -- a derived slug comes from, so renaming the author keeps the URL
    UNIQUE (name, url, email)
);

CREATE TABLE IF NOT EXISTS article_authors (
    article_pk INTEGER NOT NULL REFERENCES articles (pk) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    author_pk  INTEGER NOT NULL REFERENCES authors (pk),
    PRIMARY KEY (article_pk, position)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tags (
    pk          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    slug        TEXT,  -- /tag/{slug}/: lower-case ASCII letters, digits and '-'; NULL: derived (README)
    slug_source TEXT   -- as authors.slug_source
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

-- Schema version 2: tag and author feeds, and one change stamp per feed scope.

CREATE UNIQUE INDEX IF NOT EXISTS tags_slug ON tags (slug);
CREATE UNIQUE INDEX IF NOT EXISTS authors_slug ON authors (slug);
-- Tag and author feeds: an article's links by the tag (author) they name.
CREATE INDEX IF NOT EXISTS article_tags_tag ON article_tags (tag_pk, article_pk);
CREATE INDEX IF NOT EXISTS article_authors_author ON article_authors (author_pk, article_pk);

-- Feed change stamps: one row per section, tag and author that a write
-- touched. The triggers below give a row a new `version` (one sequence for the
-- whole table) whenever a write may change that scope's feeds, so the server
-- reads only the rows past the last version it saw: a change check costs what
-- the writes since the last one touched, whatever the number of feeds. Rows
-- are never deleted (a deleted tag is stamped too), so the sequence only grows.
CREATE TABLE IF NOT EXISTS feed_stamps (
    kind       TEXT NOT NULL,     -- 'section', 'tag' or 'author'
    key        TEXT NOT NULL,     -- the section's slug; the tag's or author's pk, as text
    version    INTEGER NOT NULL,  -- newest change; grows by one with each
    changed_at INTEGER NOT NULL,  -- newest write to a public article of the scope (0: none); never decreases
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_stamps_version ON feed_stamps (version);

-- A derived slug comes from the name the row had when it was written without
-- a slug, so renaming a tag or an author does not move its feed's URL.
CREATE TRIGGER IF NOT EXISTS tags_slug_source AFTER INSERT ON tags
WHEN NEW.slug IS NULL AND NEW.slug_source IS NULL
BEGIN
    UPDATE tags SET slug_source = NEW.name WHERE pk = NEW.pk;
END;
CREATE TRIGGER IF NOT EXISTS authors_slug_source AFTER INSERT ON authors
WHEN NEW.slug IS NULL AND NEW.slug_source IS NULL
BEGIN
    UPDATE authors SET slug_source = NEW.name WHERE pk = NEW.pk;
END;

-- Sections: any change to the row (the triggers above move changed_at and
-- revision on every public write; a rename; an insert or a delete).
CREATE TRIGGER IF NOT EXISTS sections_stamp_insert AFTER INSERT ON sections
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('section', NEW.slug, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER IF NOT EXISTS sections_stamp_update AFTER UPDATE ON sections
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('section', OLD.slug, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('section', NEW.slug, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER IF NOT EXISTS sections_stamp_delete AFTER DELETE ON sections
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('section', OLD.slug, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
END;
-- A tag or author feed shows each item's section title: renaming a section
-- changes the feeds of the tags and authors of its public articles.
CREATE TRIGGER IF NOT EXISTS sections_rename_stamp_terms AFTER UPDATE OF title ON sections
WHEN OLD.title IS NOT NEW.title
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    SELECT 'tag', at.tag_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM articles a JOIN article_tags at ON at.article_pk = a.pk
    WHERE a.section = NEW.slug AND a.status = 'published' AND a.published_at <= CAST(strftime('%s', 'now') AS INTEGER)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    SELECT 'author', aa.author_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM articles a JOIN article_authors aa ON aa.article_pk = a.pk
    WHERE a.section = NEW.slug AND a.status = 'published' AND a.published_at <= CAST(strftime('%s', 'now') AS INTEGER)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

-- Articles: a write to an article that is public before or after it stamps
-- its tags and authors (its section is stamped through the section triggers
-- above). Links are written after the article: their own triggers stamp them.
CREATE TRIGGER IF NOT EXISTS articles_stamp_terms_update AFTER UPDATE ON articles
WHEN (OLD.status = 'published' AND OLD.published_at <= CAST(strftime('%s', 'now') AS INTEGER))
    OR (NEW.status = 'published' AND NEW.published_at <= CAST(strftime('%s', 'now') AS INTEGER))
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    SELECT 'tag', tag_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM article_tags WHERE article_pk = NEW.pk
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    SELECT 'author', author_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM article_authors WHERE article_pk = NEW.pk
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;
-- BEFORE: the links are still there (ON DELETE CASCADE removes them with the row).
CREATE TRIGGER IF NOT EXISTS articles_stamp_terms_delete BEFORE DELETE ON articles
WHEN OLD.status = 'published' AND OLD.published_at <= CAST(strftime('%s', 'now') AS INTEGER)
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    SELECT 'tag', tag_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM article_tags WHERE article_pk = OLD.pk
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    SELECT 'author', author_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM article_authors WHERE article_pk = OLD.pk
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

CREATE TRIGGER IF NOT EXISTS article_tags_stamp_insert AFTER INSERT ON article_tags
WHEN EXISTS (SELECT 1 FROM articles WHERE pk = NEW.article_pk AND status = 'published'
             AND published_at <= CAST(strftime('%s', 'now') AS INTEGER))
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('tag', NEW.tag_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;
CREATE TRIGGER IF NOT EXISTS article_tags_stamp_delete AFTER DELETE ON article_tags
WHEN EXISTS (SELECT 1 FROM articles WHERE pk = OLD.article_pk AND status = 'published'
             AND published_at <= CAST(strftime('%s', 'now') AS INTEGER))
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('tag', OLD.tag_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;
CREATE TRIGGER IF NOT EXISTS article_authors_stamp_insert AFTER INSERT ON article_authors
WHEN EXISTS (SELECT 1 FROM articles WHERE pk = NEW.article_pk AND status = 'published'
             AND published_at <= CAST(strftime('%s', 'now') AS INTEGER))
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('author', NEW.author_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;
CREATE TRIGGER IF NOT EXISTS article_authors_stamp_delete AFTER DELETE ON article_authors
WHEN EXISTS (SELECT 1 FROM articles WHERE pk = OLD.article_pk AND status = 'published'
             AND published_at <= CAST(strftime('%s', 'now') AS INTEGER))
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('author', OLD.author_pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
            CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;

-- Tags and authors themselves: created (the server learns the slug; no date),
-- renamed or given another slug (dated, like a section's rename), deleted.
CREATE TRIGGER IF NOT EXISTS tags_stamp_insert AFTER INSERT ON tags
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('tag', NEW.pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER IF NOT EXISTS tags_stamp_update AFTER UPDATE ON tags
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('tag', NEW.pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
            CASE WHEN OLD.name IS NOT NEW.name OR OLD.slug IS NOT NEW.slug
                 THEN CAST(strftime('%s', 'now') AS INTEGER) ELSE 0 END)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;
CREATE TRIGGER IF NOT EXISTS tags_stamp_delete AFTER DELETE ON tags
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('tag', OLD.pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER IF NOT EXISTS authors_stamp_insert AFTER INSERT ON authors
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('author', NEW.pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER IF NOT EXISTS authors_stamp_update AFTER UPDATE ON authors
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('author', NEW.pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps),
            CASE WHEN OLD.name IS NOT NEW.name OR OLD.slug IS NOT NEW.slug OR OLD.url IS NOT NEW.url
                      OR OLD.email IS NOT NEW.email
                 THEN CAST(strftime('%s', 'now') AS INTEGER) ELSE 0 END)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version,
        changed_at = max(changed_at, excluded.changed_at);
END;
CREATE TRIGGER IF NOT EXISTS authors_stamp_delete AFTER DELETE ON authors
BEGIN
    INSERT INTO feed_stamps (kind, key, version, changed_at)
    VALUES ('author', OLD.pk, (SELECT coalesce(max(version), 0) + 1 FROM feed_stamps), 0)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version;
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

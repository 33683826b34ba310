<?xml version="1.0" encoding="UTF-8"?>
<!-- Renders RSS 2.0, Atom 1.0 and sitemaps as a page for a person who opens one in
     a browser (feedserver.stylesheet names it in each document). XSLT 1.0: the
     only version browsers run. Readers ignore it. -->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"
  xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
  exclude-result-prefixes="atom sm news">
<xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

<xsl:variable name="self" select="/rss/channel/atom:link[@rel='self']/@href | /atom:feed/atom:link[@rel='self']/@href"/>
<!-- The address to subscribe to: an archive or a page of a feed's history names its
     subscription document as rel="current" or rel="first" (RFC 5005 sections 3 and 4). -->
<xsl:variable name="current" select="/rss/channel/atom:link[@rel='current']/@href | /atom:feed/atom:link[@rel='current']/@href"/>
<xsl:variable name="first" select="/rss/channel/atom:link[@rel='first']/@href | /atom:feed/atom:link[@rel='first']/@href"/>
<xsl:variable name="subscription">
  <xsl:choose>
    <xsl:when test="$current"><xsl:value-of select="$current"/></xsl:when>
    <xsl:when test="$first"><xsl:value-of select="$first"/></xsl:when>
    <xsl:otherwise><xsl:value-of select="$self"/></xsl:otherwise>
  </xsl:choose>
</xsl:variable>
<!-- A feed's page is the folder of its feed files: /section/berita/feed.rss is about /section/berita/. -->
<xsl:variable name="page">
  <xsl:choose>
    <xsl:when test="contains($subscription, 'feed.rss')"><xsl:value-of select="substring-before($subscription, 'feed.rss')"/></xsl:when>
    <xsl:when test="contains($subscription, 'feed.atom')"><xsl:value-of select="substring-before($subscription, 'feed.atom')"/></xsl:when>
    <xsl:otherwise>{{ home_url }}</xsl:otherwise>
  </xsl:choose>
</xsl:variable>

<xsl:template match="/">
  <html lang="{{ lang }}">
    <head>
      <meta charset="utf-8"/>
      <meta name="viewport" content="width=device-width, initial-scale=1"/>
      <title><xsl:value-of select="/rss/channel/title | /atom:feed/atom:title"/><xsl:if test="/sm:sitemapindex | /sm:urlset">{{ labels["sitemap"] }} – {{ site_title }}</xsl:if></title>
      <link rel="stylesheet" href="{{ stylesheet_url }}"/>
    </head>
    <body>
      <header class="banner"><p class="site"><a href="{{ home_url }}">{{ site_title }}</a></p></header>
      <main>
        <xsl:apply-templates select="/rss/channel | /atom:feed | /sm:sitemapindex | /sm:urlset"/>
      </main>
    </body>
  </html>
</xsl:template>

<xsl:template name="subscribe">
  <section class="subscribe" aria-labelledby="subscribe-heading">
    <h2 id="subscribe-heading">{{ labels["subscribe"] }}</h2>
    <p>{{ labels["xsl_note"] }} {{ labels["what_is_a_feed"] }}</p>
    <label for="feed-url">{{ labels["feed_address"] }}</label>
    <input id="feed-url" type="url" readonly="readonly" value="{$subscription}"/>
    <p><a href="{$page}">{{ labels["xsl_page"] }}</a></p>
  </section>
</xsl:template>

<xsl:template match="channel">
  <h1><xsl:value-of select="title"/></h1>
  <p class="lead"><xsl:value-of select="description"/></p>
  <xsl:call-template name="subscribe"/>
  <section id="articles" aria-labelledby="articles-heading">
    <h2 id="articles-heading">{{ labels["latest"] }}</h2>
    <ol class="items">
      <xsl:for-each select="item">
        <li><article>
          <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
          <p class="meta"><xsl:value-of select="pubDate"/> · <xsl:value-of select="category[1]"/></p>
        </article></li>
      </xsl:for-each>
    </ol>
  </section>
</xsl:template>

<xsl:template match="atom:feed">
  <h1><xsl:value-of select="atom:title"/></h1>
  <p class="lead"><xsl:value-of select="atom:subtitle"/></p>
  <xsl:call-template name="subscribe"/>
  <section id="articles" aria-labelledby="articles-heading">
    <h2 id="articles-heading">{{ labels["latest"] }}</h2>
    <ol class="items">
      <xsl:for-each select="atom:entry">
        <li><article>
          <h3><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h3>
          <p class="meta"><xsl:value-of select="atom:published"/> · <xsl:value-of select="atom:category[1]/@label"/></p>
        </article></li>
      </xsl:for-each>
    </ol>
  </section>
</xsl:template>

<xsl:template match="sm:sitemapindex">
  <h1>{{ labels["xsl_sitemaps"] }}</h1>
  <p class="lead">{{ labels["xsl_sitemap_note"] }}</p>
  <ol class="index" id="articles">
    <xsl:for-each select="sm:sitemap">
      <li><a href="{sm:loc}"><xsl:value-of select="sm:loc"/></a>
        <xsl:if test="sm:lastmod"> <span class="meta"> · {{ labels["xsl_updated"] }} <xsl:value-of select="sm:lastmod"/></span></xsl:if></li>
    </xsl:for-each>
  </ol>
</xsl:template>

<xsl:template match="sm:urlset">
  <h1>{{ labels["xsl_urls"] }}</h1>
  <p class="lead">{{ labels["xsl_sitemap_note"] }}</p>
  <ol class="index" id="articles">
    <xsl:for-each select="sm:url">
      <li><a href="{sm:loc}"><xsl:choose>
          <xsl:when test="news:news/news:title"><xsl:value-of select="news:news/news:title"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="sm:loc"/></xsl:otherwise>
        </xsl:choose></a>
        <xsl:if test="sm:lastmod"> <span class="meta"> · {{ labels["xsl_updated"] }} <xsl:value-of select="sm:lastmod"/></span></xsl:if></li>
    </xsl:for-each>
  </ol>
</xsl:template>
</xsl:stylesheet>

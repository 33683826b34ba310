"""feedserver: RSS, Atom and JSON Feed for a news site, from the SQLite database its CMS writes."""

__version__ = "0.1.0"

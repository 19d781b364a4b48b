"""The showcase: exchanges reviewers starred, drawn as tweet cards and exported as a gallery.

``exchanges`` reads stars into privacy-safe :class:`~web.showcase.exchanges.Exchange` values
(the only thing cards and galleries ever see), ``cards`` lays them out and draws them with
Pillow, ``gallery`` writes the static page, ``views`` and ``cli`` are the console's and the
command line's doors to them (docs/showcase.md).
"""

"""Deterministic generator of realistic Segment-spec event dumps.

`generate()` writes what a Segment / RudderStack pipeline would drop in a bucket:
``out/YYYY-MM-DD/events-NNN.jsonl.gz``, one folder per UTC day of ``receivedAt``,
``files_per_day`` gzip'd JSON-lines files per folder, one Segment-spec message per line.

How it works (and why it is fast and deterministic):

1. **Plan.** Customers are planned in fixed chunks of ``_CHUNK`` customers, each chunk
   from its own seeded RNG: persona, devices, visit times, which visit is the sign-up,
   the logins on other devices, the orders, consent changes, late/duplicated deliveries.
   A visit is packed into one Python int (start time, customer, visit number, device,
   kind, flags), so millions of visits are cheap to hold, sort and send to workers.
   Customer attributes (name, email, devices, user agent, ...) are pure functions of
   ``(seed, customer)`` and are recomputed where needed instead of being stored.
2. **Render.** One task per received day turns the day's visits into JSON lines built
   from pre-serialised fragments (no per-event ``json.dumps`` of a whole dict) and
   streams them into gzip writers. Visits that can deliver lines after midnight
   (evening visits, late deliveries, next-day retries) are "spill" visits: they get a
   per-visit RNG so the next days' tasks can re-render them identically and keep the
   lines received on their own day. All other visits share the day's RNG.

Traffic profiles (``profile``): ``"standard"`` is everything below; ``"light"`` (light.py)
plans the same visitors and journeys without the mobile apps and renders short payloads (a
minimal context, page properties with the title only, product and order properties with
ids and amounts only), for measuring a build on lean web traffic.

The output therefore depends only on the arguments, never on ``workers`` or timing;
with an explicit ``start`` it is byte-for-byte reproducible (gzip headers carry no name
or mtime; the compressed bytes are those of the local zlib).

What the data looks like (what a loader or model author can rely on):

* Valid lines: ``type`` in identify/track/page/screen/alias/group, a ``messageId``
  (``msg-`` + 32 hex) and a ``receivedAt`` whose UTC date is the folder name.
  ``timestamp``, when present, is the true event time and equals ``originalTimestamp``.
  About 3% of messages come from a skewed device clock: no ``timestamp``, and
  ``originalTimestamp``/``sentAt`` both shifted by minutes to hours, so the event time is
  ``originalTimestamp + (receivedAt - sentAt)``. About 0.5% carry only ``receivedAt``.
  About 0.5% of visits arrive 1-3 days late (``sentAt``/``receivedAt`` late), and
  visits just before midnight are partly received after it; messages received after
  the last day are not written at all (so a late sign-up may be missing its identify).
* Duplicates share the messageId and every field except ``receivedAt``/``sentAt``:
  byte-identical copies, or later copies with both moved by the same delay (the
  clock-corrected time is the same for every copy); in the same file, another file of
  the day, or the next day's folder. A copy is never received before the original.
* Malformed lines (`MALFORMED_KINDS`, made from real messages, with fresh messageIds):
  truncated JSON, the message in a JSON array, the message double-encoded as a JSON
  string, no ``type``, ``"type": "pageview"``, no ``messageId``, no time field at all,
  every time field ``"not-a-date"``.
* Identity: ``userId`` ``u_NNNNNN``; ``anonymousId`` uuid4-like, one per browser/app;
  logged-in devices send ``userId`` on every message after the identify (or alias) that
  logged them in. Emails are unique per customer, sometimes sent with upper case or
  surrounding spaces, in ``traits.email`` or only in ``context.traits.email``; phones
  are unique per customer in three formats. Junk values: `JUNK_USER_IDS`, `JUNK_EMAILS`.
  Customers c and c+1 with c % 200 == 0 share a kiosk browser (c logs in on it first);
  B2B users send ``group`` calls (``grp_NNNNN``); app users send ``screen`` calls (no
  ``context.page``, ``analytics-ios``/``analytics-android`` library). One browser in ten
  runs RudderStack's SDK and sends an integer ``context.sessionId`` (ms) per visit.
  Visits of one customer start at least two hours apart.
* Orders: ``Order Completed`` with a unique ``order_id`` and either ``revenue`` or (about
  one in five) ``total``, never both; ``currency``; ``products``.

Where things are: ``catalog`` (pages, products, referrers, user agents, names: the static
vocabulary), ``people`` (customers and their devices), ``plan`` (the visits of each
customer and how they are delivered), ``render`` (a visit's journey) and ``messages``
(one JSON line and its copies), ``light`` (the light profile's payloads), ``malformed``
(lines to quarantine), ``writer`` (one day's gzip files), ``run`` (`generate` and its worker
pool); ``config``, ``hashing`` and ``formatting`` hold the tunables, the seeded hashing and
the time/JSON text.
"""

from orchestration.generator.catalog import JUNK_EMAILS, JUNK_USER_IDS
from orchestration.generator.malformed import MALFORMED_KINDS
from orchestration.generator.run import GenerateStats, generate

__all__ = ["GenerateStats", "MALFORMED_KINDS", "JUNK_USER_IDS", "JUNK_EMAILS", "generate"]

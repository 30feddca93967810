"""Identity resolution: identifiers linked by messages -> customers, with merge protection.

Input is a long frame, one row per (message, identifier): ``message_id``, ``event_at``,
``identifier_type``, ``identifier_value``. Output (:class:`Resolution`) is one row per
distinct identifier (its customer, anchor and first/last sighting), one row per
set-aside link (``conflicts``) and a few run statistics.

Rules
-----
* The identifiers of one message belong together; a customer is a connected component of
  identifiers linked by messages, except where merge protection sets a link aside.
* Merge protection (Segment's identity rule): a customer holds at most
  ``max_user_ids_per_customer`` distinct ``user_id`` identifiers. Messages are applied in
  event time order, ties by ``message_id``. When applying a message would make a customer
  hold too many user ids, the message's identifiers are set aside one at a time, lowest
  priority first, until the union of the customers of the remaining identifiers is allowed.
  Each set-aside identifier that is not already in the customer of the kept ones gets a
  conflict row (the conflicting identifier is the highest-priority kept identifier).
  A message whose identifier set equals an earlier message's set is a no-op and records
  no conflict (see "Algorithm" for why it can never change the state).
* Priority (highest first): ``user_id``, ``email``, ``anonymous_id``, every other type.
  Within equal priority identifiers are ordered by ``identifier_value`` ascending, then by
  ``identifier_type`` ascending (so among "other" types with equal values the type name
  decides). "Lowest priority" is the last identifier in that order, so within a type the
  highest value is set aside first and the lowest value is kept.
* Anchor of a customer: its identifier with the earliest ``first_seen_at``; ties by the
  priority order above (type priority, then value, then type).
  ``customer_id = 'c_' + sha256(f"{anchor_type}:{anchor_value}").hexdigest()[:20]``.
* Output order is canonical, so the same rows in any order give identical frames:
  ``nodes`` by first appearance (the (event_at, message_id) order of the identifier's
  first message), then priority order; ``conflicts`` by message order, then the order in
  which identifiers were set aside.

Algorithm
---------
1. Strings are encoded as integers (identifiers as (type, value) pairs, and message ids):
   each value's 64-bit ``hash`` is grouped by one in-place sort of (hash, row) packed into
   an int64, and every row is then compared with another row of its group, so a hash
   collision is detected and handled by the exact (slower) ``pd.factorize``. This is
   several times faster than ``pd.factorize`` on object strings; the code numbering
   depends on Python's hash seed, which nothing downstream depends on.
2. Messages are ranked by (event_at, message_id); the string comparison is only needed
   for messages that share a timestamp. A message's time is its earliest ``event_at``.
3. Rows are sorted by (message rank, identifier) and every message becomes the sorted set
   of its identifiers. Messages with one identifier link nothing. Messages carrying the
   same identifier set as an earlier one are dropped: when a set S is first applied, the
   procedure sets aside a prefix r1..rk of S's lowest-priority identifiers and merges the
   rest. Customers only ever grow, so later the union of the customers of S minus r1..rj
   (j < k) holds at least as many user ids as before and is still not allowed, while the
   kept identifiers already share one (valid) customer. Applying S again therefore sets
   aside exactly the same identifiers and merges nothing: it can never change the state.
4. Connected components over all distinct sets, in bulk
   (``scipy.sparse.csgraph.connected_components`` over star edges of every set). A customer
   is always a subset of one component, so a component holding at most
   ``max_user_ids_per_customer`` user ids can never trigger the rule: it is final.
5. Only components with more user ids than allowed are re-run, with an ordered union-find
   (path compression, union by size, user-id count per root) over their sets in message
   order. This loop is the only non-vectorised part, and it touches only those components.
6. Node statistics, anchors and customer ids are computed vectorised (``ufunc.at``,
   ``bincount``), resorting to string sorting only for the few rows whose integer keys tie.

Measured with ``bench/bench_identity.py``: 10M input rows (3.3M identifiers, 8M messages,
2.2M customers) take about 20-25 s of CPU on one core and about 1 GB of memory on top of
the input frame.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

RULE_MAX_USER_IDS = "max_user_ids_per_customer"
USER_ID = "user_id"
#: Type priority; every type not listed has priority ``OTHER_PRIORITY``.
TYPE_PRIORITY: dict[str, int] = {"user_id": 0, "email": 1, "anonymous_id": 2}
OTHER_PRIORITY = 3

INPUT_COLUMNS = ["message_id", "event_at", "identifier_type", "identifier_value"]
NODE_COLUMNS = [
    "identifier_type",
    "identifier_value",
    "customer_id",
    "anchor_type",
    "anchor_value",
    "first_seen_at",
    "last_seen_at",
    "first_message_id",
    "messages",
]
CONFLICT_COLUMNS = [
    "message_id",
    "occurred_at",
    "rule",
    "identifier_type",
    "identifier_value",
    "conflicting_identifier_type",
    "conflicting_identifier_value",
]
EDGE_COLUMNS = ["a_type", "a_value", "b_type", "b_value", "message_id", "first_seen_at"]

_STR = "str"


@dataclass
class Resolution:
    """Result of :func:`resolve`."""

    nodes: pd.DataFrame
    conflicts: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


def customer_id_for(anchor_type: str, anchor_value: str) -> str:
    """Stable customer id of the customer anchored at (anchor_type, anchor_value)."""
    digest = hashlib.sha256(f"{anchor_type}:{anchor_value}".encode()).hexdigest()
    return "c_" + digest[:20]


def type_priority(identifier_type: str) -> int:
    """0 for user_id, 1 for email, 2 for anonymous_id, 3 for any other type."""
    return TYPE_PRIORITY.get(identifier_type, OTHER_PRIORITY)


# --------------------------------------------------------------------------- helpers


def _first_index(codes: np.ndarray) -> np.ndarray:
    """Row of the first occurrence of each code; codes numbered in order of appearance."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    running = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    np.greater(running[1:], running[:-1], out=new[1:])
    return np.flatnonzero(new)


def _exact_codes(values: np.ndarray, what: str) -> np.ndarray:
    codes, _ = pd.factorize(values)
    if len(codes) and codes.min() < 0:
        raise ValueError(f"identity resolution: null {what}")
    return codes.astype(np.int64, copy=False)


_MIX = np.uint64(0x9E3779B97F4A7C15)


_NULL_HASHES = [hash(x) for x in (None, np.nan, pd.NA, pd.NaT)]


def _hash_codes(
    values: np.ndarray, salt: np.ndarray | None, what: str = "value"
) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer codes of ``values`` (x ``salt``) through 64-bit hashes, or None on collision.

    Python's ``hash`` of a ``str`` is a cached 64-bit SipHash. Each row's hash keeps its
    top ``64 - b`` bits and gets its row number in the low ``b`` bits; one in-place
    ``np.sort`` of these packed keys groups equal hashes (sorting int64 in place is several
    times faster than ``argsort`` or a hash table). Rows sharing the top bits but not the
    whole hash (rare) are re-sorted by the whole hash. Finally every row is compared with
    the previous row of its group, so a hash collision is detected, never trusted.
    """
    n = len(values)
    hi = np.fromiter(map(hash, values), dtype=np.int64, count=n)
    # nulls (the None / NaN / NA / NaT singletons; a pandas "str" column holds np.nan) are
    # found by their hash, then checked exactly
    maybe_null = np.zeros(n, dtype=bool)
    for null_hash in _NULL_HASHES:
        maybe_null |= hi == null_hash
    if maybe_null.any() and pd.isna(values[maybe_null]).any():
        raise ValueError(f"identity resolution: null {what}")
    del maybe_null
    h = hi.view(np.uint64)
    if salt is not None:
        h *= _MIX
        h += salt.astype(np.uint64)
    bits = max(1, (n - 1).bit_length())
    if bits > 40:
        return None
    shift = np.uint64(bits)
    packed = h >> shift
    packed <<= shift
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    packed &= np.uint64((1 << bits) - 1)
    idx = packed.view(np.int64)  # row numbers in hash order
    hs = h[idx]
    del h
    same = hs[1:] == hs[:-1]
    top_same = (hs[1:] >> shift) == (hs[:-1] >> shift)
    mixed = top_same & ~same
    if mixed.any():  # equal top bits, different hashes: interleaved by row number
        starts = np.flatnonzero(np.concatenate(([True], ~top_same)))
        sizes = np.diff(np.append(starts, n))
        bad = np.unique(np.searchsorted(starts, np.flatnonzero(mixed) + 1, side="right") - 1)
        pos = np.repeat(starts[bad], sizes[bad]) + _ranges(sizes[bad])
        sub = np.lexsort((idx[pos], hs[pos]))
        idx[pos] = idx[pos][sub]
        hs[pos] = hs[pos][sub]
        same = hs[1:] == hs[:-1]
    del hs, mixed, top_same
    cont = np.flatnonzero(same) + 1  # sorted positions continuing a group
    later, earlier = idx[cont], idx[cont - 1]
    del cont
    if not bool(np.all(values[later] == values[earlier])):
        return None
    if salt is not None and not np.array_equal(salt[later], salt[earlier]):
        return None
    del later, earlier
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.logical_not(same, out=new[1:])
    del same
    codes = np.empty(n, dtype=np.int64)
    codes[idx] = np.cumsum(new, dtype=np.int64) - 1
    return codes, idx[new]


def _factorize(
    values: np.ndarray, salt: np.ndarray | None = None, what: str = "value"
) -> tuple[np.ndarray, np.ndarray]:
    """Exact integer codes of ``values`` (combined with the small int codes ``salt``).

    Returns ``(codes, rep)``: ``rep[c]`` is a row holding code ``c``. Code numbering is
    arbitrary (it depends on the hash seed); nothing downstream depends on it. Falls back
    to ``pd.factorize`` on a hash collision; nulls raise ``ValueError``.
    """
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    fast = _hash_codes(values, salt, what)
    if fast is not None:
        return fast
    codes = _exact_codes(values, what)
    if salt is not None:
        codes = _exact_codes(codes * (int(salt.max()) + 1) + salt, what)
    return codes, _first_index(codes)


_SMALL_SORT = 50_000  # below this many tied items a Python sort beats a DataFrame sort


Lookup = Callable[[np.ndarray], np.ndarray]


def _break_ties(order: np.ndarray, key_sorted: np.ndarray, tie_cols: list[Lookup]) -> np.ndarray:
    """Re-sort runs of equal integer key by ``tie_cols`` (functions: items -> values)."""
    n = len(order)
    if n < 2:
        return order
    same = key_sorted[1:] == key_sorted[:-1]
    if not same.any():
        return order
    in_run = np.zeros(n, dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    pos = np.flatnonzero(in_run)
    run_id = np.cumsum(np.concatenate(([True], ~same)))[pos]
    items = order[pos]
    order = order.copy()
    if len(pos) <= _SMALL_SORT:
        keys = list(zip(run_id.tolist(), *(col(items).tolist() for col in tie_cols), strict=True))
        order[pos] = items[sorted(range(len(pos)), key=keys.__getitem__)]
        return order
    frame = {"run": run_id}
    for i, col in enumerate(tie_cols):
        frame[f"t{i}"] = col(items)
    frame["item"] = items
    df = pd.DataFrame(frame).sort_values(list(frame)[:-1], kind="stable")
    order[pos] = df["item"].to_numpy()
    return order


def _sort_with_ties(key: np.ndarray, tie_cols: list[Lookup]) -> np.ndarray:
    """Permutation sorting items by int ``key``, then by ``tie_cols`` (items -> values).

    ``(key, *tie_cols)`` must identify each item, so the (unstable) first sort is harmless;
    the tie columns are only looked up for items whose keys tie.
    """
    order = np.argsort(key)
    return _break_ties(order, key[order], tie_cols)


def _datetime_ints(col: pd.Series) -> tuple[np.ndarray, str, Any]:
    """int64 view of a datetime column (UTC wall time for tz-aware), its unit and tz."""
    if not (
        pd.api.types.is_datetime64_any_dtype(col.dtype) or isinstance(col.dtype, pd.DatetimeTZDtype)
    ):
        col = pd.to_datetime(col)
    tz = getattr(col.dtype, "tz", None)
    if tz is not None:
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = col.to_numpy()
    unit = np.datetime_data(arr.dtype)[0]
    ints = arr.view(np.int64)
    if len(ints) and (ints == np.iinfo(np.int64).min).any():
        raise ValueError("identity resolution: null event_at")
    return ints, unit, tz


def _to_datetime(ints: np.ndarray, unit: str, tz: Any) -> pd.Series:
    out = pd.Series(np.asarray(ints, dtype=np.int64).view(f"M8[{unit}]"))
    if tz is not None:
        out = out.dt.tz_localize("UTC").dt.tz_convert(tz)
    return out


def _str_col(values: np.ndarray | list[str]) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), dtype=_STR)


def _empty_resolution(unit: str, tz: Any, seconds: float) -> Resolution:
    ts = _to_datetime(np.zeros(0, dtype=np.int64), unit, tz)
    nodes = pd.DataFrame(
        {
            "identifier_type": _str_col([]),
            "identifier_value": _str_col([]),
            "customer_id": _str_col([]),
            "anchor_type": _str_col([]),
            "anchor_value": _str_col([]),
            "first_seen_at": ts,
            "last_seen_at": ts.copy(),
            "first_message_id": _str_col([]),
            "messages": pd.Series(np.zeros(0, dtype=np.int64)),
        }
    )
    return Resolution(nodes, _empty_conflicts(unit, tz), _stats(seconds=seconds))


def _empty_conflicts(unit: str, tz: Any) -> pd.DataFrame:
    out = {c: _str_col([]) for c in CONFLICT_COLUMNS}
    out["occurred_at"] = _to_datetime(np.zeros(0, dtype=np.int64), unit, tz)
    return pd.DataFrame(out)[CONFLICT_COLUMNS]


def _stats(**kw: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "nodes": 0,
        "customers": 0,
        "messages": 0,
        "distinct_identifier_sets": 0,
        "components_in_bulk": 0,
        "components_ordered": 0,
        "conflicts": 0,
        "seconds": 0.0,
    }
    stats.update(kw)
    return stats


# --------------------------------------------------------------------------- ordered loop


def _ordered_union_find(
    flat: list[int],
    starts: list[int],
    is_user: list[int],
    max_user_ids: int,
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Apply sets in order with merge protection.

    ``flat[starts[s]:starts[s + 1]]`` are the (local) identifiers of set ``s`` in priority
    order, highest first. Returns the root of every local identifier and the conflicts as
    ``(set, set_aside_identifier, kept_identifier)``. Union-find with path compression and
    union by size; ``users[root]`` counts the user ids of the root's customer.
    """
    n = len(is_user)
    parent = list(range(n))
    size = [1] * n
    users = list(is_user)
    conflicts: list[tuple[int, int, int]] = []
    append = conflicts.append

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    lo = starts[0] if starts else 0
    for s in range(len(starts) - 1):
        hi = starts[s + 1]
        if hi - lo == 2:  # the most common set size, unrolled
            a, b = flat[lo], flat[lo + 1]
            lo = hi
            ra = a if parent[a] == a else find(a)
            rb = b if parent[b] == b else find(b)
            if ra == rb:
                continue
            if users[ra] + users[rb] > max_user_ids:  # b is set aside, a (alone) is allowed
                append((s, b, a))
                continue
            if size[ra] < size[rb]:
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size[rb]
            users[ra] += users[rb]
            continue
        ids = flat[lo:hi]
        lo = hi
        roots = [x if parent[x] == x else find(x) for x in ids]
        distinct = set(roots)
        if len(distinct) == 1:
            continue
        total = 0
        for r in distinct:
            total += users[r]
        if total > max_user_ids:
            keep = len(ids)
            while total > max_user_ids:  # keep == 1 is always allowed: it is one customer
                keep -= 1
                distinct = set(roots[:keep])
                total = 0
                for r in distinct:
                    total += users[r]
            for j in range(len(ids) - 1, keep - 1, -1):  # in the order set aside
                if roots[j] not in distinct:
                    append((s, ids[j], ids[0]))
            if len(distinct) == 1:
                continue
        big = max(distinct, key=size.__getitem__)
        for r in distinct:
            if r != big:
                parent[r] = big
                size[big] += size[r]
                users[big] += users[r]
    return [x if parent[x] == x else find(x) for x in range(n)], conflicts


# --------------------------------------------------------------------------- resolve


def _ranges(sizes: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s)`` for each ``s`` in ``sizes``."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    return np.arange(total, dtype=np.int64) - np.repeat(starts, sizes)


@dataclass
class _Graph:
    """Integer-encoded input. Nodes are distinct (type, value); messages are ranked.

    Strings stay in the input's arrays and are only looked up (``*_rep`` rows) where needed:
    to break ties of ``node_prio``. Input that arrives integer-coded
    (:func:`resolve_codes`) has no strings: its node numbers are already in priority order,
    so ``node_prio`` is the node number itself and never ties.
    """

    node_prio: np.ndarray  # priority key of each node (lower first; ties broken by strings)
    node_user: np.ndarray  # bool: the node is a user id
    msg_ev: np.ndarray  # event time (int64) of each message, by rank (ascending)
    node_first: np.ndarray  # rank of the node's first message
    node_last: np.ndarray  # rank of the node's last message
    node_messages: np.ndarray  # distinct messages carrying the node
    set_rank: np.ndarray  # message rank of each distinct multi-identifier set
    set_starts: np.ndarray  # offsets into set_nodes (len = sets + 1)
    set_nodes: np.ndarray  # nodes of each set, ascending node code
    distinct_sets: int  # distinct identifier sets, singletons included
    val_raw: np.ndarray | None = None  # input identifier_value (object)
    msg_raw: np.ndarray | None = None  # input message_id (object)
    type_uniq: np.ndarray | None = None  # distinct identifier types (object)
    node_rep: np.ndarray | None = None  # an input row of each node
    node_tcode: np.ndarray | None = None  # type code of each node
    msg_rep: np.ndarray | None = None  # an input row of each message, by message rank

    def value(self, nodes: np.ndarray) -> np.ndarray:
        return self.val_raw[self.node_rep[nodes]]

    def type(self, nodes: np.ndarray) -> np.ndarray:
        return self.type_uniq[self.node_tcode[nodes]]

    def message_id(self, ranks: np.ndarray) -> np.ndarray:
        return self.msg_raw[self.msg_rep[ranks]]


def _encode(identifiers: pd.DataFrame, ev_row: np.ndarray) -> _Graph:
    """Steps 1-3 of the algorithm: integer codes, message ranks, distinct identifier sets."""
    type_raw = identifiers["identifier_type"].to_numpy(dtype=object)
    tcode_row, type_uniq = pd.factorize(type_raw)
    del type_raw
    if tcode_row.min() < 0:
        raise ValueError("identity resolution: null identifier_type")
    tcode_row = tcode_row.astype(np.int64, copy=False)
    val_raw = identifiers["identifier_value"].to_numpy(dtype=object)
    node_row, node_rep = _factorize(val_raw, tcode_row, "identifier_value")
    n_nodes = len(node_rep)
    node_tcode = tcode_row[node_rep]
    del tcode_row
    type_uniq = np.asarray(type_uniq, dtype=object)
    node_prio = np.array([type_priority(t) for t in type_uniq], dtype=np.int64)[node_tcode]
    node_user = (type_uniq == USER_ID)[node_tcode]

    msg_raw = identifiers["message_id"].to_numpy(dtype=object)
    msg_row, msg_rep = _factorize(msg_raw, None, "message_id")
    n_msgs = len(msg_rep)
    msg_ev = np.full(n_msgs, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(msg_ev, msg_row, ev_row)  # a message's time: its (earliest) event_at

    # message order: (event_at, message_id)
    order = _sort_with_ties(msg_ev, [lambda items: msg_raw[msg_rep[items]]])
    rank = np.empty(n_msgs, dtype=np.int64)
    rank[order] = np.arange(n_msgs, dtype=np.int64)
    msg_rep, msg_ev = msg_rep[order], msg_ev[order]
    del order

    sets = _link_sets(rank[msg_row], node_row, n_nodes, n_msgs)
    del rank, msg_row, node_row
    return _Graph(
        node_prio=node_prio,
        node_user=node_user,
        msg_ev=msg_ev,
        **sets,
        val_raw=val_raw,
        msg_raw=msg_raw,
        type_uniq=type_uniq,
        node_rep=node_rep,
        node_tcode=node_tcode,
        msg_rep=msg_rep,
    )


def _link_sets(
    row_rank: np.ndarray, row_node: np.ndarray, n_nodes: int, n_msgs: int
) -> dict[str, Any]:
    """Step 3 on integer rows (message rank, node): node statistics and distinct sets.

    Consumes ``row_rank`` (modified in place)."""
    # rows sorted by (message rank, node); duplicate (message, node) rows dropped
    key = row_rank
    key *= np.int64(n_nodes)
    key += row_node
    key.sort()
    dup = np.flatnonzero(key[1:] == key[:-1])
    if len(dup):
        key = np.delete(key, dup + 1)
    row_rank = key // n_nodes
    key -= row_rank * n_nodes
    row_node = key
    del key

    node_first = np.full(n_nodes, n_msgs, dtype=np.int64)
    np.minimum.at(node_first, row_node, row_rank)
    node_last = np.full(n_nodes, -1, dtype=np.int64)
    np.maximum.at(node_last, row_node, row_rank)
    node_messages = np.bincount(row_node, minlength=n_nodes).astype(np.int64)

    # every message is now the sorted set of its nodes: row_node[start:start + size];
    # message rank r is set number r (every message has at least one row)
    new_msg = np.empty(len(row_rank), dtype=bool)
    new_msg[0] = True
    np.not_equal(row_rank[1:], row_rank[:-1], out=new_msg[1:])
    del row_rank
    start = np.flatnonzero(new_msg)
    del new_msg
    size = np.diff(np.append(start, len(row_node)))

    # Singletons link nothing. A set equal to an earlier message's set can never change the
    # state (customers only grow: see the module docstring), so only the first, earliest
    # (event_at, message_id), message of each distinct set is kept.
    single = size == 1
    distinct = int(np.count_nonzero(np.bincount(row_node[start[single]], minlength=1)))
    keep = np.zeros(len(start), dtype=bool)
    for s in np.unique(size[~single]).tolist():
        idx = np.flatnonzero(size == s)
        mat = row_node[start[idx][:, None] + np.arange(s)]
        if s == 2:
            dupl = pd.Series(mat[:, 0] * np.int64(n_nodes) + mat[:, 1]).duplicated()
        else:
            dupl = pd.DataFrame(mat).duplicated()
        keep[idx[~dupl.to_numpy()]] = True
    distinct += int(np.count_nonzero(keep))
    set_rank = np.flatnonzero(keep)
    set_size = size[keep]
    set_nodes = row_node[np.repeat(start[keep], set_size) + _ranges(set_size)]
    del row_node, start, size, keep
    set_starts = np.concatenate(([0], np.cumsum(set_size)))
    return {
        "node_first": node_first,
        "node_last": node_last,
        "node_messages": node_messages,
        "set_rank": set_rank,
        "set_starts": set_starts,
        "set_nodes": set_nodes,
        "distinct_sets": distinct,
    }


def _components(g: _Graph) -> tuple[int, np.ndarray]:
    """Step 4: connected components of all sets (star edges from each set's first node)."""
    n_nodes = len(g.node_prio)
    sizes = np.diff(g.set_starts)
    not_first = np.ones(len(g.set_nodes), dtype=bool)
    not_first[g.set_starts[:-1]] = False
    src = np.repeat(g.set_nodes[g.set_starts[:-1]], sizes - 1)
    dst = g.set_nodes[not_first]
    del not_first
    graph = coo_matrix(
        (np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n_nodes, n_nodes)
    ).tocsr()
    del src, dst
    n_comp, comp = connected_components(graph, directed=False)
    return int(n_comp), comp.astype(np.int64, copy=False)


def _protect(
    g: _Graph, comp: np.ndarray, n_comp: int, max_u: int
) -> tuple[np.ndarray, int, np.ndarray]:
    """Step 5: re-run the components with too many user ids in message order.

    Returns a customer label per node, the number of components re-run and the conflicts
    as rows ``(message rank, set-aside node, kept node)``.
    """
    comp_users = np.bincount(comp, weights=g.node_user, minlength=n_comp)
    comp_ordered = comp_users > max_u
    n_ordered = int(np.count_nonzero(comp_ordered))
    if not n_ordered:
        return comp, 0, np.zeros((0, 3), dtype=np.int64)
    label = comp.copy()
    ord_nodes = np.flatnonzero(comp_ordered[comp])
    k = len(ord_nodes)
    local = np.full(len(comp), -1, dtype=np.int64)
    local[ord_nodes] = np.arange(k)
    # priority rank of those nodes: type priority, then value, then type
    prank_order = _sort_with_ties(
        g.node_prio[ord_nodes],
        [lambda items: g.value(ord_nodes[items]), lambda items: g.type(ord_nodes[items])],
    )
    prank = np.empty(k, dtype=np.int64)
    prank[prank_order] = np.arange(k)
    sets = np.flatnonzero(comp_ordered[comp[g.set_nodes[g.set_starts[:-1]]]])  # rank order
    sizes = np.diff(g.set_starts)[sets]
    rows = np.repeat(g.set_starts[sets], sizes) + _ranges(sizes)
    members = local[g.set_nodes[rows]]
    # within each set: highest priority first
    members = members[np.argsort(np.repeat(np.arange(len(sets)), sizes) * k + prank[members])]
    starts = np.concatenate(([0], np.cumsum(sizes)))
    roots, local_conflicts = _ordered_union_find(
        members.tolist(), starts.tolist(), g.node_user[ord_nodes].astype(int).tolist(), max_u
    )
    label[ord_nodes] = n_comp + np.asarray(roots, dtype=np.int64)
    found = np.array(local_conflicts, dtype=np.int64).reshape(-1, 3)
    conflicts = np.column_stack(
        (g.set_rank[sets[found[:, 0]]], ord_nodes[found[:, 1]], ord_nodes[found[:, 2]])
    )
    return label, n_ordered, conflicts


def _anchors(g: _Graph, cust: np.ndarray, n_cust: int) -> np.ndarray:
    """Step 6: per customer the node with the earliest first_seen_at, then priority order."""
    ev = g.msg_ev
    # dense rank of event times (equal times tie), via message ranks
    time_rank = np.concatenate(([0], np.cumsum(ev[1:] != ev[:-1])))
    key = time_rank[g.node_first] * np.int64(int(g.node_prio.max()) + 1) + g.node_prio
    del time_rank
    best = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, cust, key)
    cand = np.flatnonzero(key == best[cust])
    del key, best
    n_cand = np.bincount(cust[cand], minlength=n_cust)
    anchor = np.full(n_cust, -1, dtype=np.int64)
    sole = cand[n_cand[cust[cand]] == 1]
    anchor[cust[sole]] = sole
    tied = cand[n_cand[cust[cand]] > 1]
    if len(tied):
        df = pd.DataFrame(
            {
                "c": cust[tied],
                "v": g.value(tied),
                "t": g.type(tied),
                "n": tied,
            }
        ).sort_values(["c", "v", "t"], kind="stable")
        first = df.drop_duplicates("c")
        anchor[first["c"].to_numpy()] = first["n"].to_numpy()
    return anchor


def _customer_ids(anchor_type: np.ndarray, anchor_value: np.ndarray) -> np.ndarray:
    sha = hashlib.sha256
    keys = (anchor_type + ":" + anchor_value).tolist()
    return np.array(["c_" + sha(k.encode()).hexdigest()[:20] for k in keys], dtype=object)


def resolve(identifiers: pd.DataFrame, max_user_ids_per_customer: int = 1) -> Resolution:
    """Resolve identifiers into customers. See the module docstring for the rules.

    ``identifiers``: one row per (message, identifier) with columns ``message_id``,
    ``event_at`` (datetime, naive UTC or tz-aware), ``identifier_type`` and
    ``identifier_value`` (strings, no nulls). A message's time is its earliest event_at.
    """
    t0 = time.perf_counter()
    missing = [c for c in INPUT_COLUMNS if c not in identifiers.columns]
    if missing:
        raise ValueError(f"identity resolution: missing columns {missing}")
    if max_user_ids_per_customer < 1:
        raise ValueError("max_user_ids_per_customer must be >= 1")
    max_u = int(max_user_ids_per_customer)

    ev_row, unit, tz = _datetime_ints(identifiers["event_at"])
    if len(identifiers) == 0:
        return _empty_resolution(unit, tz, time.perf_counter() - t0)

    g = _encode(identifiers, ev_row)
    del ev_row
    solved = _solve(g, max_u)
    cust, anchor, conflict_rows = solved.customer, solved.anchor, solved.conflicts
    anchor_value = g.value(anchor)
    cust_ids = _customer_ids(g.type(anchor), anchor_value)

    # nodes in canonical order: first message, then priority order
    out = _sort_with_ties(
        g.node_first * np.int64(OTHER_PRIORITY + 1) + g.node_prio, [g.value, g.type]
    )
    oc = cust[out]
    first = g.node_first[out]
    nodes = pd.DataFrame(
        {
            "identifier_type": _str_col(g.type(out)),
            "identifier_value": _str_col(g.value(out)),
            "customer_id": _str_col(cust_ids[oc]),
            "anchor_type": _str_col(g.type(anchor[oc])),
            "anchor_value": _str_col(anchor_value[oc]),
            "first_seen_at": _to_datetime(g.msg_ev[first], unit, tz),
            "last_seen_at": _to_datetime(g.msg_ev[g.node_last[out]], unit, tz),
            "first_message_id": _str_col(g.message_id(first)),
            "messages": pd.Series(g.node_messages[out]),
        },
        copy=False,
    )
    del out, oc, first, cust_ids, anchor_value

    if len(conflict_rows):
        c_rank, c_aside, c_kept = conflict_rows.T
        conflicts = pd.DataFrame(
            {
                "message_id": _str_col(g.message_id(c_rank)),
                "occurred_at": _to_datetime(g.msg_ev[c_rank], unit, tz),
                "rule": _str_col([RULE_MAX_USER_IDS] * len(c_rank)),
                "identifier_type": _str_col(g.type(c_aside)),
                "identifier_value": _str_col(g.value(c_aside)),
                "conflicting_identifier_type": _str_col(g.type(c_kept)),
                "conflicting_identifier_value": _str_col(g.value(c_kept)),
            },
            copy=False,
        )
    else:
        conflicts = _empty_conflicts(unit, tz)

    stats = {**solved.stats, "seconds": round(time.perf_counter() - t0, 3)}
    return Resolution(nodes=nodes, conflicts=conflicts, stats=stats)


@dataclass
class CodedResolution:
    """Result of :func:`resolve_codes`: integers only (node and message numbers as given)."""

    customer: np.ndarray  # customer number (0..customers-1) of each node
    anchor: np.ndarray  # anchor node of each customer
    node_first: np.ndarray  # message number of each node's first message
    node_last: np.ndarray  # message number of each node's last message
    node_messages: np.ndarray  # distinct messages carrying each node
    conflicts: np.ndarray  # rows (message, set-aside node, kept node), canonical order
    stats: dict[str, Any] = field(default_factory=dict)


def _solve(g: _Graph, max_u: int) -> CodedResolution:
    """Steps 4-6 on an encoded graph: components, merge protection, customers, anchors."""
    n_nodes, n_msgs = len(g.node_prio), len(g.msg_ev)
    n_comp, comp = _components(g)
    label, n_ordered, conflict_rows = _protect(g, comp, n_comp, max_u)
    del comp
    # customers: compact labels
    used = np.zeros(n_comp + n_nodes, dtype=bool)
    used[label] = True
    cust = (np.cumsum(used) - 1)[label]
    n_cust = int(np.count_nonzero(used))
    del used, label
    anchor = _anchors(g, cust, n_cust)
    stats = _stats(
        nodes=n_nodes,
        customers=n_cust,
        messages=n_msgs,
        distinct_identifier_sets=g.distinct_sets,
        components_in_bulk=n_comp - n_ordered,
        components_ordered=n_ordered,
        conflicts=len(conflict_rows),
    )
    return CodedResolution(
        customer=cust,
        anchor=anchor,
        node_first=g.node_first,
        node_last=g.node_last,
        node_messages=g.node_messages,
        conflicts=conflict_rows,
        stats=stats,
    )


def resolve_codes(
    message: np.ndarray,
    node: np.ndarray,
    node_is_user_id: np.ndarray,
    message_time: np.ndarray,
    max_user_ids_per_customer: int = 1,
) -> CodedResolution:
    """:func:`resolve` on input that is already integer-coded (e.g. by the warehouse).

    One entry per input row in ``message`` and ``node``. Message numbers run 0..M-1 in
    processing order, (event time, message_id); ``message_time[m]`` is message m's event
    time as an integer (ascending; equal times tie for anchors). Node numbers run 0..N-1 in
    priority order (type priority, value, type; see the rules), and ``node_is_user_id[n]``
    tells whether node n is a user id. Every message and every node must occur in a row.
    The rules and the results are :func:`resolve`'s, in these numbers; no strings are
    touched, so memory is a few integer arrays whatever the identifiers look like.
    """
    t0 = time.perf_counter()
    if max_user_ids_per_customer < 1:
        raise ValueError("max_user_ids_per_customer must be >= 1")
    message = np.asarray(message, dtype=np.int64)
    node = np.asarray(node, dtype=np.int64)
    node_user = np.asarray(node_is_user_id, dtype=bool)
    msg_ev = np.asarray(message_time, dtype=np.int64)
    n_nodes, n_msgs = len(node_user), len(msg_ev)
    if len(message) != len(node):
        raise ValueError("identity resolution: message and node differ in length")
    if len(message) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CodedResolution(empty, empty, empty, empty, empty, np.zeros((0, 3), np.int64),
                               _stats(seconds=round(time.perf_counter() - t0, 3)))
    seen_msgs = np.bincount(message, minlength=n_msgs) if message.min() >= 0 else None
    seen_nodes = np.bincount(node, minlength=n_nodes) if node.min() >= 0 else None
    if seen_msgs is None or len(seen_msgs) != n_msgs or not seen_msgs.all():
        raise ValueError("identity resolution: message numbers must run 0..M-1, each used")
    if seen_nodes is None or len(seen_nodes) != n_nodes or not seen_nodes.all():
        raise ValueError("identity resolution: node numbers must run 0..N-1, each used")
    if np.any(msg_ev[1:] < msg_ev[:-1]):
        raise ValueError("identity resolution: message_time must be ascending")
    del seen_msgs, seen_nodes
    sets = _link_sets(message.copy(), node, n_nodes, n_msgs)
    g = _Graph(
        node_prio=np.arange(n_nodes, dtype=np.int64), node_user=node_user, msg_ev=msg_ev, **sets
    )
    solved = _solve(g, int(max_user_ids_per_customer))
    solved.stats["seconds"] = round(time.perf_counter() - t0, 3)
    return solved


# --------------------------------------------------------------------------- explain


def explain_path(
    edges: pd.DataFrame, start: tuple[str, str], anchor: tuple[str, str]
) -> list[dict[str, Any]]:
    """Shortest chain of messages joining ``start`` to ``anchor`` (both (type, value)).

    ``edges`` is an undirected edge list with columns ``a_type, a_value, b_type, b_value,
    message_id, first_seen_at``. Returns the hops from ``start`` towards ``anchor`` as dicts
    ``from_type, from_value, to_type, to_value, message_id, first_seen_at``; ``[]`` when
    ``start == anchor``. Where several edges join the same two identifiers the earliest
    (first_seen_at, message_id) is used, and neighbours are visited in that order too, so
    the path is deterministic. Raises ``ValueError`` if the two are not connected.
    """
    start = (str(start[0]), str(start[1]))
    anchor = (str(anchor[0]), str(anchor[1]))
    if start == anchor:
        return []
    missing = [c for c in EDGE_COLUMNS if c not in edges.columns]
    if missing:
        raise ValueError(f"explain_path: missing columns {missing}")
    ordered = edges.sort_values(["first_seen_at", "message_id"], kind="stable")
    adjacency: dict[tuple[str, str], dict[tuple[str, str], tuple[Any, Any]]] = {}
    for at, av, bt, bv, mid, seen in zip(
        ordered["a_type"],
        ordered["a_value"],
        ordered["b_type"],
        ordered["b_value"],
        ordered["message_id"],
        ordered["first_seen_at"],
        strict=True,
    ):
        a, b = (str(at), str(av)), (str(bt), str(bv))
        if a == b:
            continue
        adjacency.setdefault(a, {}).setdefault(b, (mid, seen))
        adjacency.setdefault(b, {}).setdefault(a, (mid, seen))
    previous: dict[tuple[str, str], tuple[str, str]] = {start: start}
    queue: deque[tuple[str, str]] = deque([start])
    while queue and anchor not in previous:
        here = queue.popleft()
        for nxt in adjacency.get(here, {}):
            if nxt not in previous:
                previous[nxt] = here
                queue.append(nxt)
    if anchor not in previous:
        raise ValueError(f"explain_path: {start} is not connected to {anchor}")
    path = [anchor]
    while path[-1] != start:
        path.append(previous[path[-1]])
    path.reverse()
    hops = []
    for a, b in zip(path[:-1], path[1:], strict=True):
        mid, seen = adjacency[a][b]
        hops.append(
            {
                "from_type": a[0],
                "from_value": a[1],
                "to_type": b[0],
                "to_value": b[1],
                "message_id": mid,
                "first_seen_at": seen,
            }
        )
    return hops

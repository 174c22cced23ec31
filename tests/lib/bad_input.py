# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Random module arguments, valid-looking and invalid, for the property tests of every module.

Each strategy draws a ``Case``: the arguments of one module run, and the reasons the arguments
are invalid (empty when every option drawn is valid on its own; a combination of valid options can
still be refused, which the tests accept). An option is drawn from its valid values or from values
that the module must refuse before it sends any request: wrong types, empty strings, negative or
huge numbers, unknown or misspelt keys, unicode. ``Target`` says which nodes and credentials the
valid values point at: fake nodes in the unit tests, a real node in the live test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from hypothesis import strategies as st

MISSPELT_TOP = ("hostnme", "urls", "wait_timout", "ap_url", "pasword", "publsh", "stat", "Routes", "ñame")
NOT_INTEGERS = ("", "abc", "1.5", "ten", "0x10", "--1", "4 2")
NOT_BOOLEANS = ("maybe", "", "ja", "2", "truee", 2, -1, 0.5)
# The largest timeout (seconds) and retries the modules accept.
MAX_SECONDS = 86400
MAX_RETRIES = 10
# Any JSON value, for options whose every value a module must handle somehow.
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


class Target:
    """What valid values point at. nodes: (name, api_url) of the node under test first, then its
    would-be peers; each node's replication url is wss://NAME:9933 unless urls says otherwise."""

    def __init__(self, nodes, username, password, urls=None, max_retries=3):
        self.nodes = list(nodes)
        # Retries pause 1, 2, 4 s against a node that refuses: the live test keeps them few.
        self.max_retries = max_retries
        self.username = username
        self.password = password
        self.urls = dict(urls or {})

    @property
    def api_url(self):
        return self.nodes[0][1]

    @property
    def names(self):
        return [name for name, dummy_api in self.nodes]

    def url(self, name):
        return self.urls.get(name, "wss://%s:9933" % name)


class Case:
    def __init__(self, args, bad):
        self.args = args
        self.bad = bad

    @property
    def invalid(self):
        return bool(self.bad)

    def __repr__(self):
        return "Case(%r, bad=%r)" % (self.args, self.bad)


def good(strategy):
    return strategy.map(lambda value: (value, None))


def bad(strategy, why):
    return strategy.map(lambda value: (value, why))


class Opt:
    """One option: a strategy of its valid values and one of its invalid values (None: no value
    of it is invalid on its own), each drawing (value, why it is invalid or None)."""

    def __init__(self, valid, invalid=None):
        self.valid = valid
        self.invalid = invalid


def one_of(*strategies):
    return st.one_of(*[s for s in strategies if s is not None])


def integer(low, high, why_low, limit=None):
    """An int option drawn valid from low to high, bad below low (why_low) and above limit."""
    valid = st.integers(min_value=low, max_value=high)
    invalid = [bad(st.sampled_from(NOT_INTEGERS + (1.5, -0.25)), "not an integer"),
               bad(st.sampled_from(([1], {"a": 1})), "not an integer")]
    if why_low:
        invalid.append(bad(st.integers(min_value=-2 ** 64, max_value=low - 1), why_low))
    extra = None
    if limit is not None:
        invalid.append(bad(st.integers(min_value=limit + 1, max_value=10 ** 400), "too large"))
    else:
        extra = good(st.integers(min_value=high + 1, max_value=2 ** 80))
    return Opt(one_of(good(valid), good(valid.map(str)), good(st.none()), extra), st.one_of(*invalid))


def boolean():
    return Opt(good(st.sampled_from((True, False, "yes", "no", "true", "off", 1, 0, None))),
               bad(st.sampled_from(NOT_BOOLEANS + ([True],)), "not a boolean"))


def choice(*values):
    return Opt(good(st.sampled_from(values + (None,))),
               bad(st.sampled_from(("", "Present", "gone", "presnt", 1, "absent ")), "not a choice"))


def connection_options(target, api_url=True, max_timeout=120):
    options = dict(
        username=Opt(one_of(good(st.just(target.username)), good(st.text(max_size=8)))),
        password=Opt(one_of(good(st.just(target.password)), good(st.text(max_size=8)))),
        token=Opt(one_of(good(st.text(min_size=1, max_size=8)),
                         good(st.sampled_from(("a\nb", "t\u00e9", "\u2603", " "))))),
        validate_certs=boolean(),
        ca_path=Opt(one_of(good(st.sampled_from(("/nonexistent/ca.pem", "/etc/hostname", "~/ca.pem"))),
                           good(st.text(max_size=6)))),
        timeout=integer(1, max_timeout, "not positive", limit=MAX_SECONDS),
        retries=integer(0, target.max_retries, "negative", limit=MAX_RETRIES),
    )
    if api_url:
        options["api_url"] = api_url_option(target)
    return options


def api_url_option(target):
    host = target.api_url.split("://", 1)[1].rsplit(":", 1)[0]
    return Opt(
        one_of(good(st.just(target.api_url)), good(st.just(target.api_url + "/")),
               good(st.just(target.api_url.upper())),
               # Valid in form: the request fails (no such host, no answer on that port) without a write.
               good(st.sampled_from(("http://nosuchhost.invalid:9925", "http://%s:1" % host,
                                     "http://\u00f1ode:9925", "https://%s:9925" % host)))),
        bad(st.sampled_from((
            "", " ", "%s:9925" % host, "ftp://%s:9925" % host, "http://%s:abc" % host,
            "http://%s:99999" % host, "http://", "https://:9925", "http://[::1", "wss://%s:9933" % host,
            "http://%s:9925 /" % host, "http://us er@%s:9925" % host, "http://\u2603:-1")),
            "not an operations API url"))


def replication_url(target, names):
    return Opt(
        one_of(good(st.sampled_from(names).map(target.url)),
               good(st.sampled_from(names).map(lambda n: target.url(n).upper() + "/")),
               good(st.sampled_from(names).map(lambda n: target.url(n).replace("wss://", "ws://")))),
        bad(st.sampled_from(("https://n2:9925", "n2:9933", "wss://", "wss://:9933", "ftp://n2",
                             "wss://n2:abc", "wss://n2:99999", "wss://n 2:9933", "wss://n2:9933/x y",
                             "wss://@:9933")), "not a replication url"))


def subscription_entry():
    base = {"database": "data", "table": "dog", "subscribe": True, "publish": False}
    legacy = {"schema": "data", "table": "cat", "subscribe": False, "publish": True}
    broken = st.sampled_from((
        dict(base, publsh=True), dict(base, Subscribe=True), {"database": "data", "subscribe": True},
        dict(base, subscribe="yes"), dict(base, database=""), dict(base, schema="data"),
        dict(base, table=5), {"table": "dog", "subscribe": True, "publish": True}, "x", "a=b", 5,
        dict(base, publish=None), dict(base, database="data", extra={"x": 1}),
    ))
    return Opt(good(st.sampled_from((base, legacy))), bad(broken, "bad subscription"))


def listing(entry, max_size=3, min_size=0, unique_by=None):
    """A list option of entries (an Opt): valid when every entry is; invalid with one bad entry.
    unique_by(value) keeps the valid entries apart (members of one mesh are distinct nodes)."""
    def combine(items):
        reasons = [why for dummy_value, why in items if why]
        return [value for value, dummy_why in items], ("; ".join(reasons) or None)

    key = (lambda pair: unique_by(pair[0])) if unique_by else None
    valid = st.lists(entry.valid, min_size=min_size, max_size=max_size, unique_by=key).map(combine)
    invalid = None
    if entry.invalid is not None:
        invalid = st.tuples(st.lists(entry.valid, max_size=max_size - 1, unique_by=key), entry.invalid,
                            st.integers(min_value=0, max_value=max_size)).map(
            lambda t: combine(t[0][:t[2]] + [t[1]] + t[0][t[2]:]))
    return Opt(valid, invalid)


def authorization(target):
    valid = {"username": target.username, "password": target.password}
    return Opt(
        good(st.sampled_from((valid, "Basic YWRtaW46cGFzcw=="))),
        bad(st.sampled_from((
            {"username": target.username}, dict(valid, extra="x"), {"usrname": "a", "password": "p"},
            {"username": "", "password": "p"}, {"username": "a", "password": 5}, ["a", "b"], 5, True,
            "", {})), "bad authorization"))


def peer_options(target, peers):
    """The options describing one peer (harper_node, entries of harper_cluster's connections)."""
    names = list(peers)
    return dict(
        hostname=Opt(one_of(good(st.sampled_from(names)), good(st.text(max_size=8)),
                            good(st.just(target.names[0])))),
        url=replication_url(target, names),
        verify_tls=boolean(),
        authorization=authorization(target),
        retain_authorization=boolean(),
        revoked_certificates=Opt(one_of(good(st.lists(st.text(max_size=6), max_size=2)),
                                        good(st.just("abc,def")))),
        shard=integer(0, 2 ** 31 - 1, "negative shard"),
        subscriptions=listing(subscription_entry()),
    )


def draw_options(draw, options, required=(), misspelt=MISSPELT_TOP, bad_count=None):
    """A dict of some of the options (every required one) and the reasons it is invalid: bad_count
    options (drawn when None: most often none) get an invalid value or an unknown key."""
    if bad_count is None:
        bad_count = draw(st.sampled_from((0, 0, 0, 1, 1, 2)))
    keys = [key for key in sorted(options) if key in required or draw(st.booleans())]
    breakable = [key for key in keys if options[key].invalid is not None]
    broken = set()
    for dummy in range(bad_count):
        if breakable and draw(st.integers(min_value=0, max_value=4)):
            broken.add(draw(st.sampled_from(breakable)))
        else:
            broken.add(None)
    args = {}
    reasons = []
    for key in keys:
        value, why = draw(options[key].invalid if key in broken else options[key].valid)
        args[key] = value
        if why:
            reasons.append("%s: %s" % (key, why))
    if None in broken and misspelt:
        key = draw(st.sampled_from(misspelt))
        args[key] = draw(JUNK)
        reasons.append("%s: unknown option" % key)
    return args, reasons


def _mutually_exclusive(args, reasons):
    # An empty credential is no credential (the modules' credential_problems).
    if args.get("token") and (args.get("username") or args.get("password")):
        reasons.append("token with username or password")


def _credentials(draw, target, options):
    """Most runs get the right credentials, so that the run gets past the first request."""
    if draw(st.integers(min_value=0, max_value=3)):
        options = dict(options)
        for key in ("username", "password", "token"):
            options.pop(key, None)
        return options, {"username": target.username, "password": target.password}
    return options, {}


def _wait_timeout():
    return integer(0, 60, "negative", limit=MAX_SECONDS)


@st.composite
def node_case(draw, target):
    options = connection_options(target)
    options, fixed = _credentials(draw, target, options)
    options.update(peer_options(target, target.names[1:]))
    options.update(state=choice("present", "absent"), allow_self_removal=boolean(), wait=boolean(),
                   wait_timeout=_wait_timeout(), restart_stalled=boolean())
    if draw(st.integers(min_value=0, max_value=5)):
        # Nearly always a peer named, so that most runs get past the check that one is.
        required = ("api_url", draw(st.sampled_from(("hostname", "url"))))
    else:
        required = ("api_url",)
    args, reasons = draw_options(draw, options, required=required)
    args.update(fixed)
    _mutually_exclusive(args, reasons)
    if not args.get("hostname") and not args.get("url"):
        reasons.append("neither hostname nor url")
    return Case(args, reasons)


def _entry(draw_entry):
    """An Opt of entries drawn by draw_entry(bad)."""
    return Opt(draw_entry(False), draw_entry(True))


@st.composite
def connection_entry(draw, target, broken):
    """One entry of harper_cluster's connections."""
    options = peer_options(target, target.names[1:])
    required = (draw(st.sampled_from(("hostname", "url"))),)
    args, reasons = draw_options(draw, options, required=required,
                                 misspelt=("hostnme", "publsh", "urll", "sharD"), bad_count=int(broken))
    if not args.get("hostname") and not args.get("url"):
        reasons.append("neither hostname nor url")
    return args, "; ".join(reasons) or None


@st.composite
def cluster_case(draw, target):
    options = connection_options(target)
    options, fixed = _credentials(draw, target, options)
    entries = listing(_entry(lambda broken: connection_entry(target, broken)))
    options.update(
        connections=Opt(entries.valid, one_of(entries.invalid, bad(st.sampled_from(("x", 5, [5], ["hostname"])),
                                                                   "not a list of dicts"))),
        purge=boolean(), wait=boolean(), wait_timeout=_wait_timeout(), restart_stalled=boolean())
    args, reasons = draw_options(draw, options, required=("api_url", "connections"))
    args.update(fixed)
    _mutually_exclusive(args, reasons)
    return Case(args, reasons)


@st.composite
def member_entry(draw, target, broken):
    """One entry of harper_mesh's members: one of the target's nodes, with a field broken or not."""
    index = draw(st.integers(min_value=0, max_value=len(target.nodes) - 1))
    name, api_url = target.nodes[index]
    options = dict(
        name=Opt(good(st.just(name)), bad(st.sampled_from(("", None)), "no name")),
        url=Opt(good(st.just(target.url(name))), replication_url(target, [name]).invalid),
        api_url=Opt(good(st.just(api_url)), one_of(
            bad(st.sampled_from(("", None)), "no api_url"),
            api_url_option(Target([(name, api_url)], target.username, target.password)).invalid)),
        state=choice("present", "absent"),
        authorization=authorization(target),
        shard=integer(0, 2 ** 31 - 1, "negative shard"),
        subscriptions=listing(subscription_entry(), max_size=2),
        validate_certs=boolean(),
    )
    args, reasons = draw_options(draw, options, required=("name", "url", "api_url"),
                                 misspelt=("nme", "api", "urls", "stat", "subscription"), bad_count=int(broken))
    if args.get("state") == "absent":
        # An absent member's url, shard, subscriptions and authorization are not used: only their
        # type is checked.
        reasons = [r for r in reasons if not r.startswith(("url:", "subscriptions:", "authorization: bad"))
                   and r != "shard: negative shard"]
    return args, "; ".join(reasons) or None


@st.composite
def mesh_case(draw, target):
    options = connection_options(target, api_url=False)
    options, fixed = _credentials(draw, target, options)
    entries = listing(_entry(lambda broken: member_entry(target, broken)), max_size=4, min_size=1,
                      unique_by=lambda member: str(member.get("name")))
    options.update(
        members=Opt(entries.valid, one_of(entries.invalid,
                                          bad(st.sampled_from(([], "n1", [1])), "not a list of members"))),
        verify_tls=boolean(), retain_authorization=boolean(), wait_timeout=_wait_timeout(),
        restart_stalled=boolean(),
        api_url=Opt(st.nothing(), bad(st.just(target.api_url), "api_url is not an option of harper_mesh")))
    args, reasons = draw_options(draw, options, required=("members",))
    args.update(fixed)
    _mutually_exclusive(args, reasons)
    return Case(args, reasons)


def route_entry(target):
    names = target.names[1:]
    return Opt(
        one_of(good(st.sampled_from(names).map(lambda n: "wss://%s:9933" % n)),
               good(st.sampled_from(names).map(lambda n: {"hostname": n, "port": 9933})),
               good(st.sampled_from(names).map(lambda n: {"hostname": n.upper(), "port": "9934"}))),
        bad(st.sampled_from((
            "ws://n2:9933", "wss://n2", "n2:9933", "wss://n2:9933/path", "wss://:9933", "wss://n2:0",
            {"hostname": "n2"}, {"hostname": "n2", "port": 70000}, {"hostnme": "n2", "port": 9933},
            {"hostname": "n2", "port": 9933, "secure": True}, {"hostname": "", "port": 9933},
            {"hostname": "n2", "port": "abc"}, {"hostname": "n2", "port": True}, {"hostname": 5, "port": 1},
            5, None, [], "wss://n 2:9933", "wss://n2:-1")), "bad route"))


@st.composite
def routes_case(draw, target):
    options = connection_options(target)
    options, fixed = _credentials(draw, target, options)
    options.update(
        routes=listing(route_entry(target)),
        state=choice("present", "absent"), exclusive=boolean(), restart=boolean(),
        restart_timeout=integer(1, 120, "not positive", limit=MAX_SECONDS))
    args, reasons = draw_options(draw, options, required=("api_url", "routes"))
    args.update(fixed)
    _mutually_exclusive(args, reasons)
    if args.get("exclusive") in (True, "yes", "true", 1) and args.get("state") == "absent":
        reasons.append("exclusive with state absent")
    return Case(args, reasons)


@st.composite
def facts_case(draw, target):
    options = connection_options(target)
    options, fixed = _credentials(draw, target, options)
    args, reasons = draw_options(draw, options, required=("api_url",))
    args.update(fixed)
    _mutually_exclusive(args, reasons)
    return Case(args, reasons)


CASES = {
    "harper_node": node_case,
    "harper_cluster": cluster_case,
    "harper_mesh": mesh_case,
    "harper_routes": routes_case,
    "harper_cluster_facts": facts_case,
}

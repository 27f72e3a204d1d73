#!/usr/bin/python3
"""A reproducible generator of labelled card transactions, for pg_vigil's examples and demo.

    generate.py [--seed N] [--cards N] [--start ISO] [--days N | --hours N] [--history-days N]
                [--fraud-rate R] [--format csv|kinesis] [--batch-size N] [--shards N]
                [--dup-rate R] [--part all|history|stream] [--out FILE] [--summary]
                [--fraud-mix NAME=W[,NAME=W...]] [--legit-mix NAME=SHARE[,NAME=SHARE...]]

Writes one time-ordered stream of transactions, either as CSV with a header (load it with
examples/generator/load_csv.sql, or COPY it into a staging table) or as Kinesis events for the
ingestion Lambda (examples/lambda/handler.py): one JSON event per line, each {"Records": [...]}
with --batch-size records whose data is the base64 of the transaction as JSON.  The same
arguments always give byte-identical output; only the standard library is used.

The world: customers (a few with two cards) living in US cities, merchants in each city per
category (the 14 categories of examples/schema.sql) plus online merchants with no location, and
foreign cities for travel and fraud.  Each card has its own behaviour: a home location and time
zone, usual categories with their own typical amounts, favourite merchants, a daily rhythm
(hours, in local time) and a rate of transactions.  Legitimate noise that a detector has to live
with: occasional large purchases, trips to other cities or abroad (new merchants, other hours),
rare purchases in unusual categories, now and then a purchase in the night.

Personas: --legit-mix gives the share of cards whose legitimate behaviour differs from the
ordinary cardholder's just described (the other cards are ordinary; by default all are):

  night_owl          pays mostly between 20:00 and 03:00 local time, now and then in the day
  traveller          a trip every one to three weeks (2 to 6 days, a third of them abroad),
                     buys online while away, books travel from home
  online_shopper     about four purchases in five in the online categories (shopping_net,
                     misc_net, grocery_net), at many different online merchants
  new_card           the card is issued during the stream period, at a random time: it has no
                     transaction before (no history), then behaves as an ordinary card

Fraud: --fraud-rate is the share of cards that suffer one fraud incident during the stream
period (never in the --history-days lead-in).  Incidents are labelled is_fraud = true, with the
pattern in fraud_pattern.  By default an incident is one of the first four patterns below, each
as likely; --fraud-mix gives the patterns' relative weights:

  night_burst        a stolen card emptied at night (00:30-04:30 local): 3 to 12 purchases a few
                     minutes apart in high-value categories, online or in the home city
  amount_spike       one to three large purchases (a few hundred dollars, whatever the card
                     usually spends) at an ordinary hour; on a card that spends much, the
                     smaller ones look like a legitimate splurge
  card_testing       a run of tiny amounts (under 5.00) at online merchants, seconds or minutes
                     apart, often followed by a large online "cash-out" purchase
  impossible_travel  a cloned card used in person in a distant city or abroad, shortly after the
                     cardholder paid at home (faster than any flight, most of the time)
  account_takeover   the cardholder's online accounts taken over: at night (22:00-04:00 local),
                     3 to 7 purchases of 40.00 to a few thousand (240.00 typical), minutes
                     apart, at two to four online merchants, half the time after a small
                     "probe" (under 10.00)
  skimming           a cloned magnetic stripe used in person far from home (another US region,
                     or abroad) over one to three days, at shop hours there: cash-like round
                     sums (misc_pos), fuel, gift cards at groceries, goods to resell; at any
                     time, not necessarily right after a purchase at home (so not always
                     "impossible travel")
  slow_escalation    over one to three weeks, 5 to 10 purchases among the cardholder's own, at
                     the card's usual hours: the first in one of the card's usual categories at
                     about its usual amount, each next one 1.3 to 1.6 times the one before,
                     drifting to categories that sell on (shopping, home, travel)
  new_card           a new card (issued during the stream period, no history), stolen from the
                     mail or opened on a synthetic identity: after at most 4 transactions of
                     its own (often none), 1 to 5 purchases of a few hundred dollars within
                     hours, in person in the home city or online; the card is then closed, so
                     that no fraud row has more than 4 rows of its card before it
  small_amounts      3 to 8 small purchases (under 30.00) over a few days at ordinary merchants
                     (online, or in the home city) in categories the card seldom uses, at its
                     usual hours: hard to catch, on purpose

--fraud-mix and --legit-mix take name=number pairs separated by commas, for instance
--fraud-mix skimming=2,small_amounts=1 or --legit-mix night_owl=0.1,new_card=0.05.  Without them
(or with the default mix spelled out) the output is byte-identical to what it was before they
existed, and they change only what they are about: --fraud-mix the incidents (the same cards
suffer one, and the cards' legitimate transactions stay the same, but for new_card's victims,
which become new cards), --legit-mix the cards given a persona (the ordinary cards' transactions
stay the same).  --summary prints, on standard error, the number of transactions, of fraud rows
and of fraud rows per pattern; with --legit-mix, also the number of cards and of transactions of
each persona ("cards.night_owl=...", "transactions.night_owl=...", "ordinary" for the others).

Times are UTC in the output (ISO 8601, "Z"); local times use each city's standard-time offset
all year.  Amounts are exact cents.  Coordinates of a card-present transaction are the merchant's;
online transactions have none.
"""

import argparse
import base64
import csv
import datetime
import hashlib
import heapq
import json
import math
import random
import sys

FIELDS = (
    "trans_num", "trans_time", "card_id", "card_last4", "customer_id", "first_name", "last_name",
    "gender", "dob", "job", "city", "state", "zip", "cust_lat", "cust_lon", "city_pop",
    "merchant_id", "merchant_name", "category", "merchant_lat", "merchant_lon", "amount",
    "is_fraud", "fraud_pattern",
)

PATTERNS = ("night_burst", "amount_spike", "card_testing", "impossible_travel", "account_takeover",
            "skimming", "slow_escalation", "new_card", "small_amounts")
DEFAULT_PATTERNS = PATTERNS[:4]    # what an incident picks from (evenly) without --fraud-mix
PERSONAS = ("night_owl", "traveller", "online_shopper", "new_card")

DAY = 86400
HOUR = 3600
MINUTE = 60

# name, state or country, lat, lon, UTC offset (hours, standard time), population
US_CITIES = (
    ("New York", "NY", 40.7128, -74.0060, -5, 8336817),
    ("Los Angeles", "CA", 34.0522, -118.2437, -8, 3979576),
    ("Chicago", "IL", 41.8781, -87.6298, -6, 2693976),
    ("Houston", "TX", 29.7604, -95.3698, -6, 2320268),
    ("Phoenix", "AZ", 33.4484, -112.0740, -7, 1680992),
    ("Philadelphia", "PA", 39.9526, -75.1652, -5, 1584064),
    ("San Antonio", "TX", 29.4241, -98.4936, -6, 1547253),
    ("San Diego", "CA", 32.7157, -117.1611, -8, 1423851),
    ("Dallas", "TX", 32.7767, -96.7970, -6, 1343573),
    ("Austin", "TX", 30.2672, -97.7431, -6, 978908),
    ("Jacksonville", "FL", 30.3322, -81.6557, -5, 911507),
    ("Columbus", "OH", 39.9612, -82.9988, -5, 898553),
    ("Charlotte", "NC", 35.2271, -80.8431, -5, 885708),
    ("San Francisco", "CA", 37.7749, -122.4194, -8, 881549),
    ("Indianapolis", "IN", 39.7684, -86.1581, -5, 876384),
    ("Seattle", "WA", 47.6062, -122.3321, -8, 753675),
    ("Denver", "CO", 39.7392, -104.9903, -7, 727211),
    ("Washington", "DC", 38.9072, -77.0369, -5, 705749),
    ("Boston", "MA", 42.3601, -71.0589, -5, 692600),
    ("Nashville", "TN", 36.1627, -86.7816, -6, 670820),
    ("Detroit", "MI", 42.3314, -83.0458, -5, 670031),
    ("Portland", "OR", 45.5152, -122.6784, -8, 654741),
    ("Las Vegas", "NV", 36.1699, -115.1398, -8, 651319),
    ("Atlanta", "GA", 33.7490, -84.3880, -5, 498715),
    ("Miami", "FL", 25.7617, -80.1918, -5, 467963),
    ("Minneapolis", "MN", 44.9778, -93.2650, -6, 429954),
    ("New Orleans", "LA", 29.9511, -90.0715, -6, 390144),
    ("Honolulu", "HI", 21.3069, -157.8583, -10, 345064),
    ("Anchorage", "AK", 61.2181, -149.9003, -9, 291247),
    ("Salt Lake City", "UT", 40.7608, -111.8910, -7, 200567),
)

FOREIGN_CITIES = (
    ("London", "GB", 51.5074, -0.1278, 0, 8982000),
    ("Paris", "FR", 48.8566, 2.3522, 1, 2161000),
    ("Rome", "IT", 41.9028, 12.4964, 1, 2873000),
    ("Madrid", "ES", 40.4168, -3.7038, 1, 3223000),
    ("Amsterdam", "NL", 52.3676, 4.9041, 1, 872680),
    ("Toronto", "CA", 43.6532, -79.3832, -5, 2731571),
    ("Cancun", "MX", 21.1619, -86.8515, -5, 888797),
    ("Tokyo", "JP", 35.6762, 139.6503, 9, 13960000),
    ("Mexico City", "MX", 19.4326, -99.1332, -6, 9209944),
    ("Sao Paulo", "BR", -23.5505, -46.6333, -3, 12330000),
    ("Lagos", "NG", 6.5244, 3.3792, 1, 14800000),
    ("Moscow", "RU", 55.7558, 37.6173, 3, 12500000),
    ("Istanbul", "TR", 41.0082, 28.9784, 3, 15460000),
    ("Bucharest", "RO", 44.4268, 26.1025, 2, 1830000),
    ("Bangkok", "TH", 13.7563, 100.5018, 7, 10539000),
    ("Manila", "PH", 14.5995, 120.9842, 8, 1780148),
)

CITIES = US_CITIES + FOREIGN_CITIES
TOURIST = tuple(i for i, c in enumerate(CITIES) if c[0] in
                ("London", "Paris", "Rome", "Madrid", "Amsterdam", "Toronto", "Cancun", "Tokyo"))
FRAUD_ABROAD = tuple(i for i, c in enumerate(CITIES) if c[0] in
                     ("Lagos", "Moscow", "Istanbul", "Bucharest", "Bangkok", "Manila", "Sao Paulo",
                      "Mexico City", "London"))
ONLINE = -1                    # the "city" of online merchants

# category: typical amount (median, dollars), spread (sigma of log amount), card present,
# popularity as a usual category of a card
CATEGORIES = {
    "entertainment": (30.0, 0.36, True, 4),
    "food_dining": (26.0, 0.32, True, 8),
    "gas_transport": (40.0, 0.26, True, 9),
    "grocery_net": (48.0, 0.30, False, 2),
    "grocery_pos": (46.0, 0.32, True, 10),
    "health_fitness": (34.0, 0.32, True, 4),
    "home": (44.0, 0.38, True, 5),
    "kids_pets": (36.0, 0.36, True, 4),
    "misc_net": (28.0, 0.38, False, 4),
    "misc_pos": (28.0, 0.38, True, 4),
    "personal_care": (28.0, 0.32, True, 4),
    "shopping_net": (46.0, 0.38, False, 6),
    "shopping_pos": (48.0, 0.38, True, 6),
    "travel": (70.0, 0.40, True, 1),
}
CATEGORY_NAMES = tuple(CATEGORIES)
TRIP_CATEGORIES = (("food_dining", 5), ("travel", 3), ("entertainment", 2), ("shopping_pos", 2),
                   ("gas_transport", 1), ("grocery_pos", 1), ("misc_pos", 1))

FIRST_F = ("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
           "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly",
           "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
           "Rebecca", "Laura", "Sharon", "Cynthia", "Kathleen", "Amy", "Angela", "Anna", "Brenda")
FIRST_M = ("James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
           "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
           "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
           "Edward", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric")
LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
        "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
        "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
        "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
        "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
        "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Kirlin", "Hahn", "Kuhn", "Bauer",
        "Schmitt", "Reilly", "Okuneva", "Bashirian", "Gottlieb", "Heller", "Lubowitz", "Lind")
JOBS = ("Accountant", "Architect", "Barista", "Biomedical engineer", "Bus driver", "Chef",
        "Civil engineer", "Dentist", "Electrician", "Firefighter", "Graphic designer",
        "Journalist", "Lawyer", "Librarian", "Mechanic", "Nurse", "Pharmacist", "Photographer",
        "Physician", "Plumber", "Police officer", "Professor", "Programmer", "Real estate agent",
        "Retired", "Sales manager", "Secretary", "Student", "Teacher", "Web developer")
MERCHANT_WORDS = {
    "entertainment": ("Cinema", "Arcade", "Theater", "Live"),
    "food_dining": ("Grill", "Bistro", "Diner", "Kitchen", "Pizzeria", "Cafe"),
    "gas_transport": ("Fuel", "Gas", "Petroleum", "Transit"),
    "grocery_net": ("Fresh Online", "Grocery Delivery", "Pantry"),
    "grocery_pos": ("Market", "Foods", "Grocers", "Supermarket"),
    "health_fitness": ("Fitness", "Pharmacy", "Health", "Gym"),
    "home": ("Home", "Hardware", "Furniture", "Garden"),
    "kids_pets": ("Toys", "Pet Supply", "Kids", "Petcare"),
    "misc_net": ("Digital", "Apps", "Online Services", "Subscriptions"),
    "misc_pos": ("Variety", "General Store", "Outlet", "Services"),
    "personal_care": ("Salon", "Spa", "Barbers", "Beauty"),
    "shopping_net": ("Online", "Direct", "Shop", "Store Online"),
    "shopping_pos": ("Electronics", "Department Store", "Boutique", "Outlet"),
    "travel": ("Travel", "Airlines", "Hotels", "Car Rental"),
}
MERCHANT_SUFFIX = ("", "", " and Sons", " Group", " LLC", " Inc", " Ltd", " & Co", " Brothers")


def epoch_of(text):
    """Seconds since the epoch of an ISO 8601 date or time (UTC unless it says otherwise)."""
    s = text.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def iso(t):
    """ISO 8601 UTC text of integer epoch seconds."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def weighted(rng, items):
    """One item of a sequence of (item, weight)."""
    total = sum(w for _, w in items)
    x = rng.random() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]


def poisson(rng, lam):
    """A Poisson variate (Knuth; lam is small here)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def cents_lognormal(rng, median, sigma, lo=50, hi=None, clip=3.0):
    """An amount in cents, log-normal around median dollars, at most clip sigmas above."""
    z = min(clip, max(-3.0, rng.gauss(0.0, 1.0)))
    c = int(round(median * math.exp(sigma * z) * 100))
    c = max(lo, c)
    return min(hi, c) if hi is not None else c


def jitter(rng, lat, lon, km):
    """A point within about km of (lat, lon)."""
    r = km * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    dlat = r * math.cos(a) / 111.0
    dlon = r * math.sin(a) / (111.0 * max(0.2, math.cos(math.radians(lat))))
    return round(lat + dlat, 6), round(lon + dlon, 6)


class World:
    """Merchants (made on first use, each (city, category) from its own seed) and cities."""

    def __init__(self, seed):
        self.seed = seed
        self.slots = {}
        self.us_weights = [(i, c[5] ** 0.7) for i, c in enumerate(US_CITIES)]

    def merchants(self, city, category):
        """The merchants of a category in a city (ONLINE: online ones): list of dicts."""
        key = (city, category)
        if key in self.slots:
            return self.slots[key]
        rng = random.Random(f"{self.seed}/merchants/{city}/{category}")
        if city == ONLINE:
            n = 25
        else:
            n = 6 + int(18 * (CITIES[city][5] / 9e6) ** 0.5)
        cat = CATEGORY_NAMES.index(category)
        out = []
        for k in range(n):
            mid = 1_000_000 + (city + 1) * 10_000 + cat * 100 + k
            name = f"{rng.choice(LAST)} {rng.choice(MERCHANT_WORDS[category])}{rng.choice(MERCHANT_SUFFIX)}"
            if city == ONLINE or not CATEGORIES[category][2]:
                lat = lon = None
            else:
                lat, lon = jitter(rng, CITIES[city][2], CITIES[city][3], 15.0)
            out.append({"merchant_id": mid, "merchant_name": name, "category": category,
                        "merchant_lat": lat, "merchant_lon": lon})
        self.slots[key] = out
        return out

    def merchant_pool(self, city, category):
        """Where a category's merchants are for someone in city: online ones for online categories."""
        return self.merchants(ONLINE if not CATEGORIES[category][2] else city, category)


class Card:
    """One card, its customer and its behaviour."""

    def __init__(self, world, seed, idx, customer, period):
        self.world, self.seed, self.idx, self.customer = world, seed, idx, customer
        rng = random.Random(f"{seed}/card/{idx}/profile")
        self.card_id = 4_000_001 + idx
        self.last4 = f"{rng.randrange(10000):04d}"
        self.city = customer["home_city"]
        self.tz = CITIES[self.city][4]
        self.rate = min(10.0, max(0.3, 2.5 * math.exp(rng.gauss(0.0, 0.5))))
        self.hour_center = min(19.0, max(9.0, rng.gauss(14.0, 2.0)))
        self.hour_sd = rng.uniform(2.5, 4.0)
        self.scale = math.exp(rng.gauss(0.0, 0.35))
        pool = [(c, CATEGORIES[c][3]) for c in CATEGORY_NAMES]
        usual = []
        for _ in range(rng.randint(4, 7)):
            c = weighted(rng, pool)
            pool = [(x, w) for x, w in pool if x != c]
            usual.append((c, rng.gammavariate(1.5, 1.0)))
        self.usual = usual
        self.rare = [c for c in CATEGORY_NAMES if c not in dict(usual)]
        self.median = {}
        self.sigma = {}
        spread = rng.uniform(1.0, 1.3)       # how variable this cardholder's baskets are
        for c in CATEGORY_NAMES:
            m, s = CATEGORIES[c][0], CATEGORIES[c][1]
            # people's baskets differ less between categories than the categories' medians
            self.median[c] = 40.0 * (m / 40.0) ** 0.35 * self.scale * math.exp(rng.gauss(0.0, 0.12))
            self.sigma[c] = 0.3 * spread
        self.favourites = {}
        for c, _ in usual:
            ms = world.merchant_pool(self.city, c)
            self.favourites[c] = rng.sample(ms, min(len(ms), rng.randint(1, 4)))
        total = sum(w for _, w in usual)
        self.typical = sum(w / total * self.median[c] * math.exp(self.sigma[c] ** 2 / 2)
                           for c, w in usual)
        # what personas change (these values are the ordinary cardholder's)
        self.persona = None
        self.active_from = None         # a new card: its first transaction is not before this
        self.trip_rate = 0.008          # chance a trip starts on a day at home
        self.abroad = 0.2               # share of trips abroad
        self.trip_local = 0.85          # share of a trip's purchases made at the destination
        self.fav_share = 0.85           # share of purchases in a usual category at a favourite
        if period.get("legit_mix"):
            assign_persona(self, period)
        self.fraud = plan_fraud(self, period)

    def local_hour(self, rng):
        """An hour of the day (float, local time) at which this cardholder pays."""
        if self.persona == "night_owl":
            # after 24: past midnight (the next calendar day)
            if rng.random() < 0.08:
                return rng.uniform(9.0, 20.0)
            while True:
                h = rng.gauss(self.hour_center, self.hour_sd)
                if 17.0 <= h < 30.0:
                    return h
        if rng.random() < 0.01:
            return rng.uniform(0.0, 6.0)
        while True:
            h = rng.gauss(self.hour_center, self.hour_sd)
            if 6.0 <= h < 24.0:
                return h


def build_cards(seed, ncards, period):
    """The cards and their customers; about one customer in seven has two cards."""
    world = World(seed)
    cards = []
    customer = None
    cid = 500_000
    for idx in range(ncards):
        rng = random.Random(f"{seed}/card/{idx}/owner")
        if customer is not None and customer["ncards"] == 1 and rng.random() < 0.15:
            customer["ncards"] += 1
        else:
            cid += 1
            customer = make_customer(world, seed, cid)
        cards.append(Card(world, seed, idx, customer, period))
    return world, cards


def assign_persona(card, period):
    """Draws the card's persona from --legit-mix (its own random stream) and applies it."""
    rng = random.Random(f"{card.seed}/card/{card.idx}/persona")
    x = rng.random()
    for name in PERSONAS:
        share = period["legit_mix"].get(name, 0.0)
        if x < share:
            break
        x -= share
    else:
        return
    card.persona = name
    world = card.world
    if name == "night_owl":
        card.hour_center = rng.uniform(21.5, 25.0)
        card.hour_sd = rng.uniform(1.2, 2.2)
    elif name == "traveller":
        card.trip_rate = rng.uniform(0.05, 0.1)
        card.abroad = rng.uniform(0.3, 0.5)
        card.trip_local = 0.75
        if "travel" not in card.favourites:
            card.usual.append(("travel", rng.uniform(0.2, 0.5)))
            ms = world.merchant_pool(card.city, "travel")
            card.favourites["travel"] = rng.sample(ms, min(len(ms), rng.randint(2, 4)))
    elif name == "online_shopper":
        online = [(c, rng.uniform(*w)) for c, w in
                  (("shopping_net", (2.0, 4.0)), ("misc_net", (1.0, 3.0)), ("grocery_net", (0.5, 2.0)))]
        present = [(c, w) for c, w in card.usual if CATEGORIES[c][2]][:rng.randint(1, 3)]
        # about a fifth of the purchases in person, the rest online
        scale = 0.25 * sum(w for _, w in online) / sum(w for _, w in present)
        card.usual = online + [(c, w * scale) for c, w in present]
        card.fav_share = 0.5
        for c, _ in online:
            ms = world.merchant_pool(card.city, c)
            card.favourites[c] = rng.sample(ms, min(len(ms), rng.randint(8, 20)))
    elif name == "new_card":
        start, end = period["start"], period["end"]
        card.active_from = start + rng.randrange(max(1, end - start))
    card.rare = [c for c in CATEGORY_NAMES if c not in dict(card.usual)]
    total = sum(w for _, w in card.usual)
    card.typical = sum(w / total * card.median[c] * math.exp(card.sigma[c] ** 2 / 2)
                       for c, w in card.usual)


def make_customer(world, seed, cid):
    """A customer with a home in a US city."""
    rng = random.Random(f"{seed}/customer/{cid}")
    city = weighted(rng, world.us_weights)
    c = CITIES[city]
    gender = rng.choice("FM")
    lat, lon = jitter(rng, c[2], c[3], 20.0)
    dob = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(0, 64 * 365))
    return {
        "customer_id": cid, "ncards": 1, "home_city": city,
        "first_name": rng.choice(FIRST_F if gender == "F" else FIRST_M),
        "last_name": rng.choice(LAST), "gender": gender, "dob": dob.isoformat(),
        "job": rng.choice(JOBS), "city": c[0], "state": c[1], "zip": f"{rng.randrange(1000, 99999):05d}",
        "cust_lat": lat, "cust_lon": lon, "city_pop": c[5],
    }


def plan_fraud(card, period):
    """The card's fraud incident in the stream period, if any: dict, or None."""
    rng = random.Random(f"{card.seed}/card/{card.idx}/fraud")
    start, end, fraud_rate = period["start"], period["end"], period["fraud_rate"]
    if card.active_from is not None:
        start = max(start, card.active_from)      # a new card is not stolen before it exists
    if not (rng.random() < fraud_rate) or end - start < 10 * MINUTE:
        return None
    mix = period.get("fraud_mix")
    if mix is None:
        pattern = DEFAULT_PATTERNS[rng.randrange(len(DEFAULT_PATTERNS))]
    else:
        pattern = weighted(rng, mix)
    t = start + rng.randrange(end - start)
    fraud = {"pattern": pattern, "t": t, "rng": rng}
    if pattern == "night_burst":
        t = local_time(rng, start, end, card.tz, lambda r: r.uniform(0.5, 4.5)) or t
    elif pattern == "amount_spike":
        t = local_time(rng, start, end, card.tz, card.local_hour) or t
    elif pattern == "account_takeover":
        # the whole burst, probe included, lasts under two hours: it ends before 04:00
        t = local_time(rng, start, end, card.tz, lambda r: r.uniform(22.0, 26.0)) or t
    elif pattern == "skimming":
        fraud["days"] = rng.randint(1, 3)
        t = start + rng.randrange(fits(start, end, fraud["days"] * DAY))
    elif pattern in ("slow_escalation", "small_amounts"):
        if pattern == "slow_escalation":
            fraud["days"] = rng.randint(7, 21)
            fraud["steps"] = rng.randint(5, min(10, fraud["days"]))
        else:
            fraud["days"] = rng.randint(3, 9)
            fraud["steps"] = rng.randint(3, 8)
        t = local_time(rng, start, start + fits(start, end, fraud["days"] * DAY), card.tz,
                       card.local_hour) or t
    elif pattern == "new_card":
        # the card is new: it has no transaction before it is activated, then k legitimate
        # ones (synthetic identity building trust; none if the card was stolen from the mail),
        # then the fraud; the card is closed after it
        room = end - start
        card.active_from = start + rng.randrange(max(1, room - 3 * DAY if room > 6 * DAY else room // 2))
        fraud["k"] = weighted(rng, ((0, 3), (1, 2), (2, 2), (3, 1.5), (4, 1)))
        fraud["steps"] = rng.randint(min(2, 5 - fraud["k"]), 5 - fraud["k"])
        fraud["seen"] = 0
        t = None                                   # set when the k-th transaction is made
    fraud["t"] = t
    return fraud


def fits(start, end, span):
    """How much of [start, end) an incident lasting span can start in (all of it if too short)."""
    return end - start - span if end - start > span + HOUR else end - start


def local_time(rng, start, end, tz, hour_of):
    """A time in [start, end) at a local hour drawn by hour_of, or None if none fits."""
    first = (start + tz * HOUR) // DAY
    last = (end + tz * HOUR) // DAY
    for _ in range(20):
        day = rng.randint(first, last)
        t = int(day * DAY - tz * HOUR + hour_of(rng) * HOUR)
        if start <= t < end:
            return t
    return None


def record(card, t, merchant, cents, rng, fraud=None):
    """A transaction as a dict of FIELDS."""
    cu = card.customer
    return {
        "trans_num": f"{rng.getrandbits(128):032x}", "trans_time": iso(t), "card_id": card.card_id,
        "card_last4": card.last4, "customer_id": cu["customer_id"], "first_name": cu["first_name"],
        "last_name": cu["last_name"], "gender": cu["gender"], "dob": cu["dob"], "job": cu["job"],
        "city": cu["city"], "state": cu["state"], "zip": cu["zip"], "cust_lat": cu["cust_lat"],
        "cust_lon": cu["cust_lon"], "city_pop": cu["city_pop"],
        "merchant_id": merchant["merchant_id"], "merchant_name": merchant["merchant_name"],
        "category": merchant["category"], "merchant_lat": merchant["merchant_lat"],
        "merchant_lon": merchant["merchant_lon"], "amount": cents / 100,
        "is_fraud": fraud is not None, "fraud_pattern": fraud,
    }


def card_stream(card, period):
    """The card's transactions in [period begin, end), in time order: (t, idx, seq, record)."""
    world = card.world
    begin, end = period["begin"], period["end"]
    heap, seq = [], 0
    trip = None                 # (city, last day) while travelling
    last_located = None         # (t, lat, lon) of the cardholder's last card-present purchase
    not_before = begin - DAY    # card-present purchases wait for the flight to land
    fraud = card.fraud
    first_day = begin // DAY - 1
    last_day = end // DAY + 1
    for day in range(first_day, last_day + 1):
        rng = random.Random(f"{card.seed}/card/{card.idx}/day/{day}")
        # trips: start one now and then, come back at the end
        if trip is not None and day > trip[1]:
            home = CITIES[card.city]
            if last_located is not None:
                km = haversine_km(last_located[1], last_located[2], home[2], home[3])
                not_before = max(not_before, last_located[0] + int((km / 750.0 + 2.0) * HOUR))
            trip = None
        elif trip is None and rng.random() < card.trip_rate:
            dest = pick_destination(rng, world, card.city, card.abroad)
            trip = (dest, day + rng.randint(2, 6))
            if last_located is not None:
                km = haversine_km(last_located[1], last_located[2], CITIES[dest][2], CITIES[dest][3])
                not_before = max(not_before, last_located[0] + int((km / 750.0 + 2.0) * HOUR))
        city = trip[0] if trip else card.city
        tz = CITIES[city][4]
        weekday = (day + 3) % 7          # 1970-01-01 was a Thursday; 5, 6 = Saturday, Sunday
        lam = card.rate * (1.2 if weekday >= 5 else 1.0) * (1.2 if trip else 1.0)
        todays = []
        for _ in range(poisson(rng, lam)):
            t = int(day * DAY - tz * HOUR + card.local_hour(rng) * HOUR)
            if trip and rng.random() < card.trip_local:
                cat = weighted(rng, TRIP_CATEGORIES)
                merchant = rng.choice(world.merchant_pool(city, cat))
            elif trip and card.persona == "traveller" and rng.random() < 0.5:
                # shopping online from the hotel
                cat = weighted(rng, (("shopping_net", 3), ("misc_net", 2), ("grocery_net", 0.5)))
                merchant = rng.choice(world.merchants(ONLINE, cat))
            else:
                if rng.random() < 0.015:
                    cat = rng.choice(card.rare)
                    merchant = rng.choice(world.merchant_pool(city, cat))
                else:
                    cat = weighted(rng, card.usual)
                    fav = card.favourites[cat]
                    if rng.random() < card.fav_share and (not trip or fav[0]["merchant_lat"] is None):
                        merchant = rng.choice(fav)
                    else:
                        merchant = rng.choice(world.merchant_pool(city, cat))
            if merchant["merchant_lat"] is not None and t < not_before:
                continue                  # in the air
            cents = cents_lognormal(rng, card.median[merchant["category"]],
                                    card.sigma[merchant["category"]], clip=1.6)
            if rng.random() < 0.002:      # a legitimate splurge
                merchant = rng.choice(world.merchant_pool(city, rng.choice(
                    ("shopping_pos", "home", "travel", "shopping_net"))))
                cents = int(card.typical * math.exp(rng.uniform(math.log(3), math.log(10))) * 100)
            todays.append((t, merchant, cents))
        todays.sort(key=lambda e: e[0])
        if card.active_from is not None:
            todays = [e for e in todays if e[0] >= card.active_from]
        if fraud is not None and fraud["pattern"] == "new_card":
            todays = new_card_fraud_time(card, fraud, todays, day)
        for t, merchant, cents in todays:
            seq += 1
            heapq.heappush(heap, (t, card.idx, seq, record(card, t, merchant, cents, rng)))
        if (fraud is not None and fraud["t"] is not None and fraud["t"] < (day + 1) * DAY
                and not fraud.get("done")):
            fraud["done"] = True
            anchor = last_located
            for t, merchant, _ in todays:
                if merchant["merchant_lat"] is not None and t <= fraud["t"]:
                    anchor = (t, merchant["merchant_lat"], merchant["merchant_lon"])
            for t, merchant, cents in fraud_events(card, fraud, anchor,
                                                      max(day * DAY - 14 * HOUR, period["start"])):
                seq += 1
                heapq.heappush(heap, (t, card.idx, seq,
                                      record(card, t, merchant, cents, fraud["rng"], fraud["pattern"])))
        for t, merchant, _ in todays:
            if merchant["merchant_lat"] is not None:
                last_located = (t, merchant["merchant_lat"], merchant["merchant_lon"])
        # everything generated later is at least this late
        watermark = (day + 1) * DAY - 14 * HOUR
        while heap and heap[0][0] < watermark:
            ev = heapq.heappop(heap)
            if begin <= ev[0] < end:
                yield ev
    while heap:
        ev = heapq.heappop(heap)
        if begin <= ev[0] < end:
            yield ev


def new_card_fraud_time(card, fraud, todays, day):
    """A new_card incident: when it starts (once the card has made its k legitimate
    transactions), and the day's legitimate transactions that are made (none once the
    incident has started: the card is closed)."""
    if fraud.get("done") or fraud["t"] is not None:
        return []
    room = fraud["k"] - fraud["seen"]
    if room == 0:                   # stolen before the cardholder had it
        if card.active_from < (day + 1) * DAY:
            fraud["t"] = card.active_from
        return []
    if len(todays) < room:
        fraud["seen"] += len(todays)
        return todays
    todays = todays[:room]
    fraud["t"] = todays[-1][0] + fraud["rng"].randint(10 * MINUTE, 12 * HOUR)
    return todays


def pick_destination(rng, world, home, abroad=0.2):
    """A trip's destination: another US city, sometimes abroad."""
    if rng.random() < abroad:
        return rng.choice(TOURIST)
    while True:
        c = weighted(rng, world.us_weights)
        if c != home:
            return c


def fraud_events(card, fraud, anchor, earliest):
    """The incident's transactions: list of (t, merchant, cents)."""
    rng = fraud["rng"]
    world = card.world
    pattern, t = fraud["pattern"], fraud["t"]
    out = []
    if pattern == "night_burst":
        online = rng.random() < 0.6
        for _ in range(min(12, 3 + int(rng.expovariate(1 / 3.5)))):
            cat = (rng.choice(("shopping_net", "shopping_net", "misc_net")) if online
                   else rng.choice(("shopping_pos", "shopping_pos", "travel", "misc_pos")))
            merchant = rng.choice(world.merchant_pool(card.city, cat))
            out.append((t, merchant, cents_lognormal(rng, 380.0, 0.6, 6000, 250000)))
            t += int((2 + rng.expovariate(1 / 7.0)) * MINUTE)
    elif pattern == "amount_spike":
        for _ in range(weighted(rng, ((1, 6), (2, 3), (3, 1)))):
            cat = weighted(rng, (("shopping_net", 4), ("shopping_pos", 2.5), ("travel", 1.5),
                                 ("home", 1), ("misc_net", 1)))
            merchant = rng.choice(world.merchant_pool(card.city, cat))
            # what the fraudster buys, whatever the card usually spends
            out.append((t, merchant, cents_lognormal(rng, 260.0, 0.75, 4000, 400000)))
            t += rng.randint(15 * MINUTE, 3 * HOUR)
    elif pattern == "card_testing":
        sites = [rng.choice(world.merchants(ONLINE, c)) for c in ("misc_net", "misc_net", "shopping_net")]
        fast = rng.random() < 0.7
        for _ in range(min(12, 4 + int(rng.expovariate(1 / 3.0)))):
            cents = rng.choice((100, 99, 150, 200, 250, 300, 499, rng.randint(50, 499)))
            out.append((t, rng.choice(sites[:2]), cents))
            t += rng.randint(10, 90) if fast else rng.randint(3 * MINUTE, 6 * MINUTE)
        if rng.random() < 0.6:
            t += rng.randint(20 * MINUTE, 4 * HOUR)
            for _ in range(rng.randint(1, 2)):
                merchant = rng.choice(world.merchants(ONLINE, "shopping_net"))
                out.append((t, merchant, cents_lognormal(rng, 600.0, 0.5, 5000, 300000)))
                t += rng.randint(2 * MINUTE, 30 * MINUTE)
    elif pattern == "impossible_travel":
        home = CITIES[card.city]
        far = [c for c in FRAUD_ABROAD] + [
            i for i, c in enumerate(US_CITIES)
            if haversine_km(home[2], home[3], c[2], c[3]) > 2000]
        # a city where the shops are open now, if there is one
        open_now = [c for c in far if 8 <= ((t + CITIES[c][4] * HOUR) % DAY) / HOUR < 22]
        dest = rng.choice(open_now or far)
        if anchor is not None and anchor[0] >= earliest:
            km = haversine_km(anchor[1], anchor[2], CITIES[dest][2], CITIES[dest][3])
            longest = min(6 * HOUR, int(1.3 * km / 900.0 * HOUR))
            t = anchor[0] + rng.randint(10 * MINUTE, max(10 * MINUTE, longest))
        for _ in range(rng.randint(1, 4)):
            cat = weighted(rng, (("shopping_pos", 4), ("misc_pos", 2), ("grocery_pos", 1.5),
                                 ("gas_transport", 1), ("food_dining", 1), ("entertainment", 0.5)))
            merchant = rng.choice(world.merchants(dest, cat))
            out.append((t, merchant, cents_lognormal(rng, 220.0, 0.7, 2000, 300000)))
            t += rng.randint(5 * MINUTE, 40 * MINUTE)
    elif pattern == "account_takeover":
        # the cardholder's online accounts taken over, used at night while they sleep
        sites = [rng.choice(world.merchants(ONLINE, weighted(rng, (("shopping_net", 5), ("misc_net", 3),
                                                                    ("grocery_net", 1)))))
                 for _ in range(rng.randint(2, 4))]
        if rng.random() < 0.5:        # a probe first: does the card still work?
            probe = rng.choice(world.merchants(ONLINE, "misc_net"))
            out.append((t, probe, rng.choice((100, 99, 199, 500, rng.randint(50, 999)))))
            t += rng.randint(5 * MINUTE, 30 * MINUTE)
        for _ in range(rng.randint(3, 7)):
            out.append((t, rng.choice(sites), cents_lognormal(rng, 240.0, 0.6, 4000, 250000)))
            t += rng.randint(3 * MINUTE, 12 * MINUTE)
    elif pattern == "skimming":
        # a cloned magnetic stripe, used in person far away over a few days
        home = CITIES[card.city]
        us = [(i, c[5] ** 0.5) for i, c in enumerate(US_CITIES)
              if haversine_km(home[2], home[3], c[2], c[3]) > 800]
        if us and rng.random() < 0.65:
            dest = weighted(rng, us)
        else:
            dest = rng.choice(sorted(set(FRAUD_ABROAD + TOURIST)))
        tz = CITIES[dest][4]
        day, h = local_day(t, tz), local_hour_of(t, tz)
        if h < 8.0 or h >= 20.0:       # the shops open in the morning
            day += h >= 20.0
            t = at_local(day, tz, rng.uniform(8.0, 11.0))
        for d in range(fraud["days"]):
            if d:
                t = at_local(day + d, tz, rng.uniform(8.0, 12.0))
            for _ in range(rng.randint(2, 4)):
                if local_hour_of(t, tz) >= 22.0 or local_day(t, tz) != day + d:
                    break
                cat = weighted(rng, (("misc_pos", 3), ("gas_transport", 2), ("grocery_pos", 2),
                                     ("shopping_pos", 3)))
                out.append((t, rng.choice(world.merchants(dest, cat)), skimmed_cents(rng, cat)))
                t += rng.randint(15 * MINUTE, 150 * MINUTE)
    elif pattern == "slow_escalation":
        # a fraudster who knows the card's habits, spending a little more each time
        tz = card.tz
        day = local_day(t, tz)
        times = [t] + [at_local(day + d, tz, card.local_hour(rng))
                       for d in sorted(rng.sample(range(1, fraud["days"] + 1), fraud["steps"] - 1))]
        cat = weighted(rng, card.usual)
        dollars = card.median[cat] * rng.uniform(0.8, 1.25)
        for i, t in enumerate(times):
            if i and rng.random() < i / len(times):     # drifting to what sells on
                cat = weighted(rng, (("shopping_net", 3), ("shopping_pos", 3), ("home", 1),
                                     ("misc_net", 1), ("travel", 1)))
            elif i:
                cat = weighted(rng, card.usual)
            cents = int(round(dollars * 100))
            if cents > 500000:
                break
            out.append((t, rng.choice(world.merchant_pool(card.city, cat)), cents))
            dollars *= rng.uniform(1.3, 1.6)
    elif pattern == "new_card":
        # a card stolen from the mail, or a synthetic identity's bust-out
        for _ in range(fraud["steps"]):
            cat = weighted(rng, (("shopping_pos", 3), ("shopping_net", 3), ("misc_net", 1),
                                 ("misc_pos", 1), ("travel", 1)))
            out.append((t, rng.choice(world.merchant_pool(card.city, cat)),
                        cents_lognormal(rng, 320.0, 0.7, 2500, 350000)))
            t += rng.randint(5 * MINUTE, 4 * HOUR)
    elif pattern == "small_amounts":
        # a few small purchases where the card seldom goes, at ordinary hours
        pool = [(c, CATEGORIES[c][3]) for c in card.rare if c != "travel"]
        cats = []
        for _ in range(min(len(pool), rng.randint(1, 3))):
            c = weighted(rng, pool)
            pool = [(x, w) for x, w in pool if x != c]
            cats.append(c)
        day = local_day(t, card.tz)
        times = [t] + [at_local(day + rng.randint(1, fraud["days"]), card.tz, card.local_hour(rng))
                       for _ in range(fraud["steps"] - 1)]
        for t in sorted(times):
            merchant = rng.choice(world.merchant_pool(card.city, rng.choice(cats)))
            out.append((t, merchant, cents_lognormal(rng, 11.0, 0.5, 150, 2999, clip=1.8)))
    return out


def skimmed_cents(rng, category):
    """What a cloned stripe buys: cash-like round sums, fuel, gift cards, goods to resell."""
    if category == "misc_pos":
        return 2000 * rng.randint(5, 25) + rng.choice((0, 0, 250, 300, 350))
    if category == "gas_transport":
        return cents_lognormal(rng, 75.0, 0.3, 3000, 15000)
    if category == "grocery_pos":
        return cents_lognormal(rng, 180.0, 0.5, 4000, 60000)
    return cents_lognormal(rng, 450.0, 0.6, 6000, 300000)


def local_day(t, tz):
    """The day number (days since the epoch) of time t in a time zone."""
    return (t + tz * HOUR) // DAY


def local_hour_of(t, tz):
    """The hour of the day (float) of time t in a time zone."""
    return ((t + tz * HOUR) % DAY) / HOUR


def at_local(day, tz, hour):
    """The time of an hour (float, may be 24 or more) of a day in a time zone."""
    return int(day * DAY - tz * HOUR + hour * HOUR)


# How long a compromised merchant's transactions are fraud.
COMPROMISE_DAYS = 28


class Compromises:
    """When each merchant is compromised: on each day with probability rate, for COMPROMISE_DAYS."""

    def __init__(self, seed, rate, start, end):
        self.seed, self.rate, self.start, self.end = seed, rate, start, end
        self.days = {}

    def starts(self, mid):
        """The days (since the epoch) on which merchant mid is compromised, in order."""
        if mid not in self.days:
            rng = random.Random(f"{self.seed}/compromise/{mid}")
            out = []
            d = self.start // DAY
            while True:
                # geometric gap: the next day with probability rate
                d += 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - self.rate))
                if d * DAY >= self.end:
                    break
                out.append(d)
            self.days[mid] = out
        return self.days[mid]

    def covers(self, mid, t):
        """Whether a transaction at merchant mid at time t falls in one of its compromises."""
        day = t // DAY
        return any(d <= day < d + COMPROMISE_DAYS for d in self.starts(mid))


def compromised(recs, comp):
    """recs with the legitimate transactions at compromised merchants relabelled as fraud."""
    for r in recs:
        if not r["is_fraud"] and comp.covers(r["merchant_id"], epoch_of(r["trans_time"])):
            r["is_fraud"] = True
            r["fraud_pattern"] = "compromised_merchant"
        yield r


def transactions(seed, ncards, begin, start, end, fraud_rate, fraud_mix=None, legit_mix=None,
                 personas=None, compromise_rate=0.0):
    """All cards' transactions in [begin, end), in time order; fraud only from start on.

    fraud_mix: [(pattern, weight)] an incident picks from (None: DEFAULT_PATTERNS evenly);
    legit_mix: {persona: share of cards}; personas, a dict, gets each card_id's persona;
    compromise_rate: the chance that a merchant is compromised on a given day of the stream
    period, after which its transactions are fraud for COMPROMISE_DAYS (common points of
    compromise: ordinary cardholders, ordinary amounts, only the labels say so).
    """
    period = {"begin": begin, "start": start, "end": end, "fraud_rate": fraud_rate,
              "fraud_mix": fraud_mix, "legit_mix": legit_mix}
    _, cards = build_cards(seed, ncards, period)
    if personas is not None:
        personas.update((c.card_id, c.persona) for c in cards)
    recs = (rec for _, _, _, rec in heapq.merge(*(card_stream(c, period) for c in cards)))
    if compromise_rate > 0:
        recs = compromised(recs, Compromises(seed, compromise_rate, start, end))
    return recs


def csv_value(field, v):
    """A field's text in the CSV: empty for NULL."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if field == "amount":
        return f"{v:.2f}"
    return str(v)


def write_csv(recs, out):
    """CSV with a header, for COPY ... (FORMAT csv, HEADER)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(FIELDS)
    for r in recs:
        w.writerow([csv_value(f, r[f]) for f in FIELDS])


def payload(rec):
    """A transaction as the JSON the producer puts on the stream (NULL fields left out)."""
    return json.dumps({f: rec[f] for f in FIELDS if rec[f] is not None},
                      separators=(",", ":"), ensure_ascii=False).encode()


def shard_of(partition_key, shards):
    """The shard Kinesis puts a partition key on: MD5 over evenly split hash key ranges."""
    return (int(hashlib.md5(partition_key.encode()).hexdigest(), 16) * shards) >> 128


def write_kinesis(recs, out, batch_size, shards, dup_rate, seed,
                  arn="arn:aws:kinesis:us-east-1:123456789012:stream/vigil-transactions"):
    """Lambda events for a Kinesis event source, one JSON event per line.

    Records go to shards by partition key (the card), in order; each shard's records get
    increasing sequence numbers and are cut into events of batch_size records.  With dup_rate,
    a record is now and then put on the stream again a little later (a producer retry),
    with a new sequence number and the same data.
    """
    rng = random.Random(f"{seed}/duplicates")
    counters = [0] * shards
    buffers = [[] for _ in range(shards)]
    pending = [[] for _ in range(shards)]   # (records to wait, data, key, time) per shard

    def put(shard, data, key, t):
        counters[shard] += 1
        seqno = f"4959{shard:04d}{counters[shard]:048d}"
        buffers[shard].append({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": key, "sequenceNumber": seqno,
                        "data": base64.b64encode(data).decode(), "approximateArrivalTimestamp": t},
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": f"shardId-{shard:012d}:{seqno}", "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/vigil-ingest",
            "awsRegion": "us-east-1", "eventSourceARN": arn})
        if len(buffers[shard]) >= batch_size:
            flush(shard)

    def flush(shard):
        if buffers[shard]:
            out.write(json.dumps({"Records": buffers[shard]}, separators=(",", ":")) + "\n")
            buffers[shard] = []

    for r in recs:
        key = str(r["card_id"])
        shard = shard_of(key, shards)
        t = epoch_of(r["trans_time"]) + round(rng.uniform(0.05, 2.0), 3)
        data = payload(r)
        due = []
        for p in pending[shard]:
            p[0] -= 1
            if p[0] <= 0:
                due.append(p)
        pending[shard] = [p for p in pending[shard] if p[0] > 0]
        put(shard, data, key, t)
        for p in due:
            put(shard, p[1], p[2], t)
        if dup_rate > 0 and rng.random() < dup_rate:
            pending[shard].append([rng.randint(1, 2 * batch_size), data, key, t])
    for shard in range(shards):
        for p in pending[shard]:
            put(shard, p[1], p[2], p[3])
        flush(shard)


def parse_args(argv):
    """The command line."""
    p = argparse.ArgumentParser(description="Generate labelled card transactions (CSV or Kinesis events).")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--cards", type=int, default=1000, help="number of cards (default 1000)")
    p.add_argument("--start", default="2025-03-03T00:00:00Z",
                   help="start of the stream period, ISO 8601, UTC unless given (default 2025-03-03T00:00:00Z)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--days", type=float, help="length of the stream period in days (default 1)")
    g.add_argument("--hours", type=float, help="length of the stream period in hours")
    p.add_argument("--history-days", type=float, default=0,
                   help="days of fraud-free history before --start (default 0)")
    p.add_argument("--fraud-rate", type=float, default=0.02,
                   help="share of cards with a fraud incident in the stream period (default 0.02)")
    p.add_argument("--format", choices=("csv", "kinesis"), default="csv")
    p.add_argument("--batch-size", type=int, default=100, help="records per Kinesis event (default 100)")
    p.add_argument("--shards", type=int, default=1, help="Kinesis shards (default 1)")
    p.add_argument("--dup-rate", type=float, default=0.0,
                   help="share of Kinesis records put on the stream twice (default 0)")
    p.add_argument("--part", choices=("all", "history", "stream"), default="all",
                   help="write the history only, the stream period only, or both (default)")
    p.add_argument("--out", help="output file (default standard output)")
    p.add_argument("--summary", action="store_true", help="print counts to standard error")
    p.add_argument("--fraud-mix", metavar="NAME=W[,...]",
                   help="relative weights of the fraud patterns an incident picks from "
                        f"(of {', '.join(PATTERNS)}; default: {', '.join(DEFAULT_PATTERNS)}, evenly)")
    p.add_argument("--compromised-merchants", type=float, default=0.0, metavar="RATE",
                   help="chance that a merchant is compromised on a given day of the stream period, "
                        f"its transactions then fraud for {COMPROMISE_DAYS} days (default 0)")
    p.add_argument("--legit-mix", metavar="NAME=SHARE[,...]",
                   help=f"share of cards with a persona (of {', '.join(PERSONAS)}); "
                        "the other cards are ordinary (default: none, all cards ordinary)")
    a = p.parse_args(argv)
    a.fraud_mix = parse_mix(p, "--fraud-mix", a.fraud_mix, PATTERNS)
    if a.fraud_mix is not None:
        if not any(w > 0 for w in a.fraud_mix.values()):
            p.error("--fraud-mix: all weights are zero")
        positive = {k: w for k, w in a.fraud_mix.items() if w > 0}
        if set(positive) == set(DEFAULT_PATTERNS) and len(set(positive.values())) == 1:
            a.fraud_mix = None             # the default: draw as the default does
        else:
            a.fraud_mix = [(k, positive[k]) for k in PATTERNS if k in positive]
    a.legit_mix = parse_mix(p, "--legit-mix", a.legit_mix, PERSONAS)
    if a.legit_mix is not None:
        if sum(a.legit_mix.values()) > 1 + 1e-9:
            p.error("--legit-mix: the shares add up to more than 1")
        a.legit_mix = {k: w for k, w in a.legit_mix.items() if w > 0} or None
    if a.cards < 1:
        p.error("--cards must be at least 1")
    if not 0 <= a.fraud_rate <= 1:
        p.error("--fraud-rate must be in [0, 1]")
    if not 0 <= a.compromised_merchants < 1:
        p.error("--compromised-merchants must be in [0, 1)")
    if not 0 <= a.dup_rate <= 1:
        p.error("--dup-rate must be in [0, 1]")
    if a.batch_size < 1 or a.batch_size > 10000:
        p.error("--batch-size must be in [1, 10000]")
    if a.shards < 1:
        p.error("--shards must be at least 1")
    if a.history_days < 0 or (a.days is not None and a.days <= 0) or (a.hours is not None and a.hours <= 0):
        p.error("periods must be positive")
    try:
        a.start_t = epoch_of(a.start)
    except ValueError:
        p.error(f"--start: not an ISO 8601 time: {a.start}")
    length = a.hours * HOUR if a.hours is not None else (a.days if a.days is not None else 1) * DAY
    a.end_t = a.start_t + int(length)
    a.begin_t = a.start_t - int(a.history_days * DAY)
    return a


def parse_mix(p, option, text, names):
    """name=weight[,name=weight...] as a dict (None if not given); p.error if malformed."""
    if text is None:
        return None
    mix = {}
    for item in text.split(","):
        name, eq, value = item.strip().partition("=")
        name = name.strip()
        if not eq:
            p.error(f"{option}: expected name=weight, got {item.strip()!r}")
        if name not in names:
            p.error(f"{option}: unknown name {name!r} (known: {', '.join(names)})")
        if name in mix:
            p.error(f"{option}: {name} given twice")
        try:
            w = float(value)
        except ValueError:
            p.error(f"{option}: {name}: not a number: {value.strip()!r}")
        if not math.isfinite(w) or w < 0:
            p.error(f"{option}: {name}: must be a finite number at least 0, not {value.strip()}")
        mix[name] = w
    return mix


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    personas = {}
    recs = transactions(a.seed, a.cards, a.begin_t, a.start_t, a.end_t, a.fraud_rate,
                        a.fraud_mix, a.legit_mix, personas, a.compromised_merchants)
    if a.part != "all":
        cut = iso(a.start_t)
        recs = (r for r in recs if (r["trans_time"] < cut) == (a.part == "history"))
    counts = {"transactions": 0, "fraud": 0}
    by_persona = {}
    if a.legit_mix:                 # cards by persona, then their transactions
        for name in ("ordinary",) + PERSONAS:
            n = sum(1 for v in personas.values() if (v or "ordinary") == name)
            if n:
                by_persona[f"cards.{name}"] = n

    def counted(rs):
        for r in rs:
            counts["transactions"] += 1
            if r["is_fraud"]:
                counts["fraud"] += 1
                counts[r["fraud_pattern"]] = counts.get(r["fraud_pattern"], 0) + 1
            if a.legit_mix:
                k = f"transactions.{personas[r['card_id']] or 'ordinary'}"
                by_persona[k] = by_persona.get(k, 0) + 1
            yield r

    out = open(a.out, "w", encoding="utf-8", newline="") if a.out else sys.stdout
    try:
        if a.format == "csv":
            write_csv(counted(recs), out)
        else:
            write_kinesis(counted(recs), out, a.batch_size, a.shards, a.dup_rate, a.seed)
    finally:
        if a.out:
            out.close()
        else:
            out.flush()
    if a.summary:
        print(" ".join(f"{k}={v}" for k, v in (*counts.items(), *by_persona.items())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Word pools the demo generator draws from: names, companies, places, domains, JDE codes.

Kept apart from the generator so the logic stays readable. The pools are US-heavy because a typical
JDE address book is, with the foreign and non-ASCII entries the generator mixes in at small rates.
Phone numbers use real area codes; e-mail domains are derived from company names (or common
freemail providers for people) so that data looks like a real export, not like `example.com`.
"""

from __future__ import annotations


def _words(text: str, *phrases: str) -> tuple[str, ...]:
    """The blank-separated words of a text, plus phrases that contain blanks."""
    return (*text.split(), *phrases)


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra "
    "Mark Margaret Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol "
    "Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Laura Edward Helen "
    "Jeffrey Sharon Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Anna Jonathan Brenda Larry "
    "Pamela Justin Nicole Scott Samantha Brandon Katherine Benjamin Christine Samuel Debra Gregory Rachel "
    "Frank Carolyn Raymond Janet Alexander Maria Patrick Heather Jack Diane Dennis Julie Jerry Joyce Tyler "
    "Victoria Aaron Kelly Jose Christina Adam Lauren Henry Joan Nathan Evelyn Douglas Olivia Zachary Judith"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Fisher Vasquez Simmons"
)

MIDDLE_INITIALS = tuple("ABCDEFGHJKLMNPRSTW")

COMPANY_STEMS = _words(
    "Summit Pioneer Keystone Liberty Heritage Frontier Cascade Sierra Atlas Beacon Redwood Ironwood "
    "Bluewater Granite Silverline Northstar Eagle Falcon Meridian Horizon Crescent Harbor Prairie Lakeside "
    "Riverside Highland Evergreen Oakridge Pinnacle Vanguard Sterling Patriot Allied United Consolidated "
    "Premier Apex Titan Delta Coastal Continental Midwest Southern Western Eastern Central Capital Metro "
    "Valley Canyon Mesa Tri-State Gulf Bay Empire Commonwealth Magnolia Cardinal Mustang Bison "
    "Copperhead Blackhawk Clearwater Stonebridge Fairfield Brookside Westfield Kingston Lancaster "
    "Hamilton Franklin Jefferson Madison Lincoln Monroe Jackson Carver Whitman Holloway Prescott Dunmore",
    "Lone Star",
    "Red Rock",
)

COMPANY_TRADES = (
    "Industrial Supply",
    "Manufacturing",
    "Distribution",
    "Electric",
    "Plumbing Supply",
    "Hardware",
    "Foods",
    "Logistics",
    "Construction",
    "Machine Works",
    "Packaging",
    "Chemical",
    "Auto Parts",
    "Office Products",
    "Medical Supply",
    "Farm Equipment",
    "Steel",
    "Lumber",
    "Tool & Die",
    "Fasteners",
    "Paper Co",
    "Energy",
    "Technologies",
    "Wholesale",
    "Trading",
    "Controls",
    "Pumps & Valves",
    "Coatings",
    "Plastics",
    "Beverage",
)

COMPANY_SUFFIXES = (
    "Inc",
    "Inc.",
    ", Inc.",
    "LLC",
    ", LLC",
    "Corp",
    "Corporation",
    "Co.",
    "Company",
    "Ltd",
    "",
)

FOREIGN_SUFFIXES = {"CA": "Ltd.", "GB": "Ltd", "DE": "GmbH", "MX": "S.A. de C.V."}

# Exactly 40 characters: JDE's ALPH width, where truncating UIs and exports break.
FORTY_CHAR_NAMES = (
    ("Rocky Mountain Industrial Fasteners Corp", "rockymountainfasteners.com"),
    ("Great Lakes Commercial Refrigeration Inc", "glcrefrigeration.com"),
    ("Southeastern Agricultural Equipment, LLC", "seagequip.com"),
    ("Pacific Northwest Hydraulic Systems, Inc", "pnwhydraulics.com"),
)

# Non-ASCII names: (ALPH, ASCII domain or "" for a person, country, given name, surname)
NON_ASCII_NAMES = (
    ("Müller Maschinenbau GmbH", "mueller-maschinenbau.de", "DE", "Jürgen", "Müller"),
    ("Société Générale de Distribution Inc.", "sgdistribution.ca", "CA", "François", "Lefèvre"),
    ("東京商事株式会社", "tokyo-shoji.co.jp", "JP", "太郎", "山田"),
    ("Bäckerei Groß & Söhne KG", "baeckerei-gross.de", "DE", "Grete", "Groß"),
    ("Importaciones Ñandú S.A. de C.V.", "nandu.com.mx", "MX", "José", "Peña"),
    ("Hernández Peña, José", "", "MX", "José", "Hernández Peña"),
    ("Øresund Trading ApS", "oresundtrading.dk", "DK", "Søren", "Østergaard"),
    ("Zürich Präzision AG", "zuerich-praezision.ch", "CH", "Zoë", "Brändli"),
    ("Lefèvre, Renée", "", "CA", "Renée", "Lefèvre"),
)

FREEMAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com", "comcast.net")
COMPANY_TLDS = (".com", ".com", ".com", ".com", ".net", ".us", ".biz", ".co")
ROLE_MAILBOXES = ("ap", "accounts", "orders", "info", "purchasing", "billing", "sales", "office")

STREET_NAMES = _words(
    "Main Oak Maple Cedar Pine Elm Washington Lake Hill Park Sunset Ridge Industrial Commerce Airport "
    "Church Mill River Spring Highland Jackson Lincoln Madison Center Market Union Broadway Meadow Forest"
)
STREET_TYPES = ("St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Pkwy", "Ct", "Hwy")
SUITES = ("Suite 100", "Suite 210", "Ste 4B", "Bldg 2", "Unit 7", "Floor 3", "PO Box 1187", "Dock 12")

# US places: (city, state, county, first three zip digits, area code)
US_PLACES = (
    ("Denver", "CO", "Denver", "802", "303"),
    ("Aurora", "CO", "Arapahoe", "800", "720"),
    ("Chicago", "IL", "Cook", "606", "312"),
    ("Naperville", "IL", "DuPage", "605", "630"),
    ("Houston", "TX", "Harris", "770", "713"),
    ("Dallas", "TX", "Dallas", "752", "214"),
    ("Austin", "TX", "Travis", "787", "512"),
    ("San Antonio", "TX", "Bexar", "782", "210"),
    ("Los Angeles", "CA", "Los Angeles", "900", "213"),
    ("San Diego", "CA", "San Diego", "921", "619"),
    ("Sacramento", "CA", "Sacramento", "958", "916"),
    ("Fresno", "CA", "Fresno", "937", "559"),
    ("Phoenix", "AZ", "Maricopa", "850", "602"),
    ("Tucson", "AZ", "Pima", "857", "520"),
    ("Seattle", "WA", "King", "981", "206"),
    ("Spokane", "WA", "Spokane", "992", "509"),
    ("Portland", "OR", "Multnomah", "972", "503"),
    ("Salt Lake City", "UT", "Salt Lake", "841", "801"),
    ("Minneapolis", "MN", "Hennepin", "554", "612"),
    ("Saint Paul", "MN", "Ramsey", "551", "651"),
    ("Milwaukee", "WI", "Milwaukee", "532", "414"),
    ("Detroit", "MI", "Wayne", "482", "313"),
    ("Grand Rapids", "MI", "Kent", "495", "616"),
    ("Columbus", "OH", "Franklin", "432", "614"),
    ("Cleveland", "OH", "Cuyahoga", "441", "216"),
    ("Indianapolis", "IN", "Marion", "462", "317"),
    ("Louisville", "KY", "Jefferson", "402", "502"),
    ("Nashville", "TN", "Davidson", "372", "615"),
    ("Memphis", "TN", "Shelby", "381", "901"),
    ("Atlanta", "GA", "Fulton", "303", "404"),
    ("Charlotte", "NC", "Mecklenburg", "282", "704"),
    ("Raleigh", "NC", "Wake", "276", "919"),
    ("Jacksonville", "FL", "Duval", "322", "904"),
    ("Tampa", "FL", "Hillsborough", "336", "813"),
    ("Miami", "FL", "Miami-Dade", "331", "305"),
    ("Birmingham", "AL", "Jefferson", "352", "205"),
    ("New Orleans", "LA", "Orleans", "701", "504"),
    ("Oklahoma City", "OK", "Oklahoma", "731", "405"),
    ("Kansas City", "MO", "Jackson", "641", "816"),
    ("Saint Louis", "MO", "Saint Louis City", "631", "314"),
    ("Omaha", "NE", "Douglas", "681", "402"),
    ("Des Moines", "IA", "Polk", "503", "515"),
    ("Pittsburgh", "PA", "Allegheny", "152", "412"),
    ("Philadelphia", "PA", "Philadelphia", "191", "215"),
    ("Newark", "NJ", "Essex", "071", "973"),
    ("Buffalo", "NY", "Erie", "142", "716"),
    ("New York", "NY", "New York", "100", "212"),
    ("Boston", "MA", "Suffolk", "021", "617"),
    ("Hartford", "CT", "Hartford", "061", "860"),
    ("Baltimore", "MD", "Baltimore City", "212", "410"),
    ("Richmond", "VA", "Richmond City", "232", "804"),
    ("Boise", "ID", "Ada", "837", "208"),
    ("Las Vegas", "NV", "Clark", "891", "702"),
    ("Albuquerque", "NM", "Bernalillo", "871", "505"),
    ("Billings", "MT", "Yellowstone", "591", "406"),
    ("Anchorage", "AK", "Anchorage", "995", "907"),
    ("Honolulu", "HI", "Honolulu", "968", "808"),
)

# Foreign places: country -> (city, state/province code or "", postcode pattern, phone prefix)
# Postcode patterns: "9" = digit, "A" = letter, anything else literal.
FOREIGN_PLACES = {
    "CA": (
        ("Toronto", "ON", "M5V 9A9", "416"),
        ("Vancouver", "BC", "V6B 9A9", "604"),
        ("Montréal", "QC", "H3B 9A9", "514"),
        ("Calgary", "AB", "T2P 9A9", "403"),
    ),
    "GB": (
        ("London", "", "EC1A 9AA", "020"),
        ("Manchester", "", "M1 9AA", "0161"),
        ("Birmingham", "", "B1 9AA", "0121"),
        ("Leeds", "", "LS1 9AA", "0113"),
    ),
    "DE": (
        ("Berlin", "", "10999", "030"),
        ("München", "", "80999", "089"),
        ("Hamburg", "", "20999", "040"),
        ("Köln", "", "50999", "0221"),
    ),
    "MX": (
        ("Ciudad de México", "CMX", "06999", "55"),
        ("Monterrey", "NL", "64999", "81"),
        ("Guadalajara", "JAL", "44999", "33"),
    ),
    "JP": (("Tokyo", "", "100-9999", "03"),),
    "DK": (("København", "", "1999", "33"),),
    "CH": (("Zürich", "", "8999", "044"),),
}
FOREIGN_STREETS = {
    "CA": ("King St W", "Rue Sainte-Catherine O", "Granville St", "Bay St"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road"),
    "DE": ("Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Lindenallee"),
    "MX": ("Av. Insurgentes Sur", "Calle Hidalgo", "Av. Constitución", "Paseo de la Reforma"),
    "JP": ("丸の内", "銀座", "大手町"),
    "DK": ("Strøget", "Nørregade", "Vesterbrogade"),
    "CH": ("Bahnhofstrasse", "Löwenstrasse", "Seefeldstrasse"),
}
CURRENCY = {"US": "USD", "": "USD", "CA": "CAD", "GB": "GBP", "DE": "EUR", "MX": "MXN", "JP": "JPY"}
CURRENCY_OTHER = "EUR"

# JDE codes (UDC values typical of a mid-size distributor)
INDUSTRY_CODES = ("5045", "5063", "5072", "5084", "5085", "5141", "3599", "2899", "4213", "7389", "")
REGION_CODES = ("NE", "SE", "MW", "SW", "W", "NW", "INT", "")
CUSTOMER_CLASSES = ("DIS", "RET", "MFG", "GOV", "OEM", "")
AR_CLASSES = ("A1", "A2", "TR", "EX", "")
PAYMENT_TERMS = ("N30", "N30", "N30", "N45", "N60", "N15", "2N3", "COD", "DUE")
TAX_AREAS = ("CO", "DENVER", "IL", "TX", "CA", "NY", "EXEMPT", "")
CONTACT_TITLES = (
    "Accounts Payable",
    "Purchasing Manager",
    "Controller",
    "Owner",
    "Office Manager",
    "Buyer",
    "Sales Representative",
    "Operations Director",
)
BUSINESS_UNITS = ("1", "10", "30", "100", "200", "M30")
USERS = ("JDE", "MSMITH", "KJOHNSON", "ARCLERK1", "APCLERK2", "TWILLIAMS", "DBROWN", "CNVUSER")
WORKSTATIONS = ("WKS0142", "WKS0217", "JDEENT01", "CITRIX07", "CITRIX12", "LAPTOP33")
BATCH_PROGRAMS = ("R01840", "R0101Z1I", "R01010Z")

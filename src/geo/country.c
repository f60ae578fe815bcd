/* country.c: a representative point for every ISO 3166-1 alpha-2 code and
 * for the extra codes that GeoIP databases use (EU, AP, AN, CS, SU, UK,
 * AB, OS, ...). Points are approximate geographic centroids, except for a
 * few very large countries whose people and networks sit far from the
 * centroid (RU, CA), where a point in the populated part serves distance
 * steering better. One decimal is plenty: steering compares distances of
 * hundreds of kilometres. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"
#include "geo/geo.h"
#include "geo/geo_int.h"

struct country {
	char cc[3];
	double lat, lon;
};

/* Sorted by code; geo_country_find() searches it by bisection and the unit
 * test checks the order. ZZ, UN and "??" are deliberately absent. */
static const struct country countries[] = {
    {"AB", 43.0, 41.0},	   /* Abkhazia */
    {"AC", -7.9, -14.4},   /* Ascension Island */
    {"AD", 42.5, 1.5},	   /* Andorra */
    {"AE", 24.0, 54.0},	   /* United Arab Emirates */
    {"AF", 33.9, 67.7},	   /* Afghanistan */
    {"AG", 17.1, -61.8},   /* Antigua and Barbuda */
    {"AI", 18.2, -63.1},   /* Anguilla */
    {"AL", 41.2, 20.2},	   /* Albania */
    {"AM", 40.1, 45.0},	   /* Armenia */
    {"AN", 12.2, -69.0},   /* Netherlands Antilles (former) */
    {"AO", -11.2, 17.9},   /* Angola */
    {"AP", 15.0, 105.0},   /* Asia/Pacific region */
    {"AQ", -75.0, 0.0},	   /* Antarctica */
    {"AR", -34.0, -64.0},  /* Argentina */
    {"AS", -14.3, -170.7}, /* American Samoa */
    {"AT", 47.5, 14.6},	   /* Austria */
    {"AU", -25.3, 133.8},  /* Australia */
    {"AW", 12.5, -70.0},   /* Aruba */
    {"AX", 60.2, 20.0},	   /* Aland Islands */
    {"AZ", 40.1, 47.6},	   /* Azerbaijan */
    {"BA", 43.9, 17.7},	   /* Bosnia and Herzegovina */
    {"BB", 13.2, -59.5},   /* Barbados */
    {"BD", 23.7, 90.4},	   /* Bangladesh */
    {"BE", 50.5, 4.5},	   /* Belgium */
    {"BF", 12.2, -1.6},	   /* Burkina Faso */
    {"BG", 42.7, 25.5},	   /* Bulgaria */
    {"BH", 26.0, 50.6},	   /* Bahrain */
    {"BI", -3.4, 29.9},	   /* Burundi */
    {"BJ", 9.3, 2.3},	   /* Benin */
    {"BL", 17.9, -62.8},   /* Saint Barthelemy */
    {"BM", 32.3, -64.8},   /* Bermuda */
    {"BN", 4.5, 114.7},	   /* Brunei */
    {"BO", -16.3, -63.6},  /* Bolivia */
    {"BQ", 12.2, -68.3},   /* Bonaire, Sint Eustatius and Saba */
    {"BR", -14.2, -51.9},  /* Brazil */
    {"BS", 25.0, -77.4},   /* Bahamas */
    {"BT", 27.5, 90.4},	   /* Bhutan */
    {"BU", 21.9, 95.9},	   /* Burma (former code) */
    {"BV", -54.4, 3.4},	   /* Bouvet Island */
    {"BW", -22.3, 24.7},   /* Botswana */
    {"BY", 53.7, 28.0},	   /* Belarus */
    {"BZ", 17.2, -88.5},   /* Belize */
    {"CA", 50.0, -85.0},   /* Canada (populated south) */
    {"CC", -12.2, 96.9},   /* Cocos (Keeling) Islands */
    {"CD", -4.0, 21.8},	   /* Congo, Democratic Republic */
    {"CF", 6.6, 20.9},	   /* Central African Republic */
    {"CG", -0.2, 15.8},	   /* Congo */
    {"CH", 46.8, 8.2},	   /* Switzerland */
    {"CI", 7.5, -5.5},	   /* Cote d'Ivoire */
    {"CK", -21.2, -159.8}, /* Cook Islands */
    {"CL", -35.7, -71.5},  /* Chile */
    {"CM", 7.4, 12.4},	   /* Cameroon */
    {"CN", 35.9, 104.2},   /* China */
    {"CO", 4.6, -74.3},	   /* Colombia */
    {"CR", 9.7, -83.8},	   /* Costa Rica */
    {"CS", 44.0, 20.5},	   /* Serbia and Montenegro (former) */
    {"CU", 21.5, -77.8},   /* Cuba */
    {"CV", 16.0, -24.0},   /* Cabo Verde */
    {"CW", 12.2, -69.0},   /* Curacao */
    {"CX", -10.5, 105.7},  /* Christmas Island */
    {"CY", 35.1, 33.4},	   /* Cyprus */
    {"CZ", 49.8, 15.5},	   /* Czechia */
    {"DE", 51.2, 10.5},	   /* Germany */
    {"DG", -7.3, 72.4},	   /* Diego Garcia */
    {"DJ", 11.8, 42.6},	   /* Djibouti */
    {"DK", 56.0, 10.0},	   /* Denmark */
    {"DM", 15.4, -61.4},   /* Dominica */
    {"DO", 18.7, -70.2},   /* Dominican Republic */
    {"DZ", 28.0, 1.7},	   /* Algeria */
    {"EA", 35.6, -4.1},	   /* Ceuta and Melilla */
    {"EC", -1.8, -78.2},   /* Ecuador */
    {"EE", 58.6, 25.0},	   /* Estonia */
    {"EG", 26.8, 30.8},	   /* Egypt */
    {"EH", 24.2, -12.9},   /* Western Sahara */
    {"ER", 15.2, 39.8},	   /* Eritrea */
    {"ES", 40.5, -3.7},	   /* Spain */
    {"ET", 9.1, 40.5},	   /* Ethiopia */
    {"EU", 50.0, 10.0},	   /* Europe */
    {"FI", 64.0, 26.0},	   /* Finland */
    {"FJ", -17.7, 178.1},  /* Fiji */
    {"FK", -51.8, -59.5},  /* Falkland Islands */
    {"FM", 6.9, 158.2},	   /* Micronesia */
    {"FO", 62.0, -6.8},	   /* Faroe Islands */
    {"FR", 46.2, 2.2},	   /* France */
    {"FX", 46.2, 2.2},	   /* France, Metropolitan (former) */
    {"GA", -0.8, 11.6},	   /* Gabon */
    {"GB", 54.0, -2.0},	   /* United Kingdom */
    {"GD", 12.1, -61.7},   /* Grenada */
    {"GE", 42.3, 43.4},	   /* Georgia */
    {"GF", 4.0, -53.1},	   /* French Guiana */
    {"GG", 49.5, -2.6},	   /* Guernsey */
    {"GH", 7.9, -1.0},	   /* Ghana */
    {"GI", 36.1, -5.4},	   /* Gibraltar */
    {"GL", 71.7, -42.6},   /* Greenland */
    {"GM", 13.4, -15.3},   /* Gambia */
    {"GN", 9.9, -9.7},	   /* Guinea */
    {"GP", 16.2, -61.6},   /* Guadeloupe */
    {"GQ", 1.7, 10.3},	   /* Equatorial Guinea */
    {"GR", 39.1, 21.8},	   /* Greece */
    {"GS", -54.4, -36.6},  /* South Georgia and South Sandwich */
    {"GT", 15.8, -90.2},   /* Guatemala */
    {"GU", 13.4, 144.8},   /* Guam */
    {"GW", 11.8, -15.2},   /* Guinea-Bissau */
    {"GY", 4.9, -58.9},	   /* Guyana */
    {"HK", 22.3, 114.2},   /* Hong Kong */
    {"HM", -53.1, 73.5},   /* Heard Island and McDonald Islands */
    {"HN", 15.2, -86.2},   /* Honduras */
    {"HR", 45.1, 15.2},	   /* Croatia */
    {"HT", 19.0, -72.3},   /* Haiti */
    {"HU", 47.2, 19.5},	   /* Hungary */
    {"IC", 28.3, -15.8},   /* Canary Islands */
    {"ID", -0.8, 113.9},   /* Indonesia */
    {"IE", 53.4, -8.2},	   /* Ireland */
    {"IL", 31.0, 34.9},	   /* Israel */
    {"IM", 54.2, -4.5},	   /* Isle of Man */
    {"IN", 20.6, 79.0},	   /* India */
    {"IO", -6.3, 71.9},	   /* British Indian Ocean Territory */
    {"IQ", 33.2, 43.7},	   /* Iraq */
    {"IR", 32.4, 53.7},	   /* Iran */
    {"IS", 65.0, -19.0},   /* Iceland */
    {"IT", 41.9, 12.6},	   /* Italy */
    {"JE", 49.2, -2.1},	   /* Jersey */
    {"JM", 18.1, -77.3},   /* Jamaica */
    {"JO", 30.6, 36.2},	   /* Jordan */
    {"JP", 36.2, 138.3},   /* Japan */
    {"KE", 0.0, 37.9},	   /* Kenya */
    {"KG", 41.2, 74.8},	   /* Kyrgyzstan */
    {"KH", 12.6, 105.0},   /* Cambodia */
    {"KI", 1.4, 173.0},	   /* Kiribati (Tarawa) */
    {"KM", -11.9, 43.9},   /* Comoros */
    {"KN", 17.4, -62.8},   /* Saint Kitts and Nevis */
    {"KP", 40.3, 127.5},   /* Korea, North */
    {"KR", 35.9, 127.8},   /* Korea, South */
    {"KW", 29.3, 47.5},	   /* Kuwait */
    {"KY", 19.3, -81.3},   /* Cayman Islands */
    {"KZ", 48.0, 66.9},	   /* Kazakhstan */
    {"LA", 19.9, 102.5},   /* Laos */
    {"LB", 33.9, 35.9},	   /* Lebanon */
    {"LC", 13.9, -61.0},   /* Saint Lucia */
    {"LI", 47.2, 9.6},	   /* Liechtenstein */
    {"LK", 7.9, 80.8},	   /* Sri Lanka */
    {"LR", 6.4, -9.4},	   /* Liberia */
    {"LS", -29.6, 28.2},   /* Lesotho */
    {"LT", 55.2, 23.9},	   /* Lithuania */
    {"LU", 49.8, 6.1},	   /* Luxembourg */
    {"LV", 56.9, 24.6},	   /* Latvia */
    {"LY", 26.3, 17.2},	   /* Libya */
    {"MA", 31.8, -7.1},	   /* Morocco */
    {"MC", 43.7, 7.4},	   /* Monaco */
    {"MD", 47.4, 28.4},	   /* Moldova */
    {"ME", 42.7, 19.4},	   /* Montenegro */
    {"MF", 18.1, -63.1},   /* Saint Martin (French part) */
    {"MG", -18.8, 46.9},   /* Madagascar */
    {"MH", 7.1, 171.2},	   /* Marshall Islands */
    {"MK", 41.6, 21.7},	   /* North Macedonia */
    {"ML", 17.6, -4.0},	   /* Mali */
    {"MM", 21.9, 95.9},	   /* Myanmar */
    {"MN", 46.9, 103.8},   /* Mongolia */
    {"MO", 22.2, 113.5},   /* Macao */
    {"MP", 15.1, 145.7},   /* Northern Mariana Islands */
    {"MQ", 14.6, -61.0},   /* Martinique */
    {"MR", 21.0, -10.9},   /* Mauritania */
    {"MS", 16.7, -62.2},   /* Montserrat */
    {"MT", 35.9, 14.4},	   /* Malta */
    {"MU", -20.3, 57.6},   /* Mauritius */
    {"MV", 3.2, 73.2},	   /* Maldives */
    {"MW", -13.3, 34.3},   /* Malawi */
    {"MX", 23.6, -102.6},  /* Mexico */
    {"MY", 4.2, 102.0},	   /* Malaysia (peninsula) */
    {"MZ", -18.7, 35.5},   /* Mozambique */
    {"NA", -22.9, 18.5},   /* Namibia */
    {"NC", -20.9, 165.6},  /* New Caledonia */
    {"NE", 17.6, 8.1},	   /* Niger */
    {"NF", -29.0, 168.0},  /* Norfolk Island */
    {"NG", 9.1, 8.7},	   /* Nigeria */
    {"NI", 12.9, -85.2},   /* Nicaragua */
    {"NL", 52.1, 5.3},	   /* Netherlands */
    {"NO", 61.0, 9.0},	   /* Norway */
    {"NP", 28.4, 84.1},	   /* Nepal */
    {"NR", -0.5, 166.9},   /* Nauru */
    {"NU", -19.1, -169.9}, /* Niue */
    {"NZ", -41.0, 174.0},  /* New Zealand */
    {"OM", 21.5, 55.9},	   /* Oman */
    {"OS", 42.3, 44.0},	   /* South Ossetia */
    {"PA", 8.5, -80.8},	   /* Panama */
    {"PE", -9.2, -75.0},   /* Peru */
    {"PF", -17.7, -149.4}, /* French Polynesia */
    {"PG", -6.3, 143.9},   /* Papua New Guinea */
    {"PH", 12.9, 121.8},   /* Philippines */
    {"PK", 30.4, 69.3},	   /* Pakistan */
    {"PL", 51.9, 19.1},	   /* Poland */
    {"PM", 46.9, -56.3},   /* Saint Pierre and Miquelon */
    {"PN", -24.7, -127.4}, /* Pitcairn */
    {"PR", 18.2, -66.6},   /* Puerto Rico */
    {"PS", 31.9, 35.2},	   /* Palestine */
    {"PT", 39.4, -8.2},	   /* Portugal */
    {"PW", 7.5, 134.6},	   /* Palau */
    {"PY", -23.4, -58.4},  /* Paraguay */
    {"QA", 25.4, 51.2},	   /* Qatar */
    {"RE", -21.1, 55.5},   /* Reunion */
    {"RO", 45.9, 25.0},	   /* Romania */
    {"RS", 44.0, 21.0},	   /* Serbia */
    {"RU", 56.0, 50.0},	   /* Russia (populated west) */
    {"RW", -1.9, 29.9},	   /* Rwanda */
    {"SA", 23.9, 45.1},	   /* Saudi Arabia */
    {"SB", -9.6, 160.2},   /* Solomon Islands */
    {"SC", -4.7, 55.5},	   /* Seychelles */
    {"SD", 12.9, 30.2},	   /* Sudan */
    {"SE", 60.1, 18.6},	   /* Sweden */
    {"SG", 1.4, 103.8},	   /* Singapore */
    {"SH", -15.9, -5.7},   /* Saint Helena */
    {"SI", 46.2, 15.0},	   /* Slovenia */
    {"SJ", 77.6, 23.7},	   /* Svalbard and Jan Mayen */
    {"SK", 48.7, 19.7},	   /* Slovakia */
    {"SL", 8.5, -11.8},	   /* Sierra Leone */
    {"SM", 43.9, 12.5},	   /* San Marino */
    {"SN", 14.5, -14.5},   /* Senegal */
    {"SO", 5.2, 46.2},	   /* Somalia */
    {"SR", 3.9, -56.0},	   /* Suriname */
    {"SS", 6.9, 31.3},	   /* South Sudan */
    {"ST", 0.2, 6.6},	   /* Sao Tome and Principe */
    {"SU", 55.8, 37.6},	   /* Soviet Union (former) */
    {"SV", 13.8, -88.9},   /* El Salvador */
    {"SX", 18.0, -63.1},   /* Sint Maarten */
    {"SY", 34.8, 39.0},	   /* Syria */
    {"SZ", -26.5, 31.5},   /* Eswatini */
    {"TA", -37.1, -12.3},  /* Tristan da Cunha */
    {"TC", 21.7, -71.8},   /* Turks and Caicos Islands */
    {"TD", 15.5, 18.7},	   /* Chad */
    {"TF", -49.3, 69.3},   /* French Southern Territories */
    {"TG", 8.6, 0.8},	   /* Togo */
    {"TH", 15.9, 101.0},   /* Thailand */
    {"TJ", 38.9, 71.3},	   /* Tajikistan */
    {"TK", -9.2, -171.8},  /* Tokelau */
    {"TL", -8.9, 125.7},   /* Timor-Leste */
    {"TM", 39.0, 59.6},	   /* Turkmenistan */
    {"TN", 34.0, 9.5},	   /* Tunisia */
    {"TO", -21.2, -175.2}, /* Tonga */
    {"TP", -8.9, 125.7},   /* East Timor (former code) */
    {"TR", 39.0, 35.2},	   /* Turkey */
    {"TT", 10.7, -61.2},   /* Trinidad and Tobago */
    {"TV", -8.5, 179.2},   /* Tuvalu */
    {"TW", 23.7, 121.0},   /* Taiwan */
    {"TZ", -6.4, 34.9},	   /* Tanzania */
    {"UA", 48.4, 31.2},	   /* Ukraine */
    {"UG", 1.4, 32.3},	   /* Uganda */
    {"UK", 54.0, -2.0},	   /* United Kingdom (alias of GB) */
    {"UM", 19.3, 166.6},   /* US Minor Outlying Islands (Wake) */
    {"US", 39.8, -98.6},   /* United States */
    {"UY", -32.5, -55.8},  /* Uruguay */
    {"UZ", 41.4, 64.6},	   /* Uzbekistan */
    {"VA", 41.9, 12.5},	   /* Holy See */
    {"VC", 13.3, -61.2},   /* Saint Vincent and the Grenadines */
    {"VE", 6.4, -66.6},	   /* Venezuela */
    {"VG", 18.4, -64.6},   /* Virgin Islands, British */
    {"VI", 18.3, -64.9},   /* Virgin Islands, US */
    {"VN", 14.1, 108.3},   /* Viet Nam */
    {"VU", -15.4, 166.9},  /* Vanuatu */
    {"WF", -13.8, -177.2}, /* Wallis and Futuna */
    {"WS", -13.8, -172.1}, /* Samoa */
    {"XK", 42.6, 20.9},	   /* Kosovo (user-assigned, widely used) */
    {"YE", 15.6, 48.5},	   /* Yemen */
    {"YT", -12.8, 45.2},   /* Mayotte */
    {"YU", 44.0, 20.5},	   /* Yugoslavia (former) */
    {"ZA", -29.0, 24.7},   /* South Africa */
    {"ZM", -13.1, 27.8},   /* Zambia */
    {"ZR", -4.0, 21.8},	   /* Zaire (former) */
    {"ZW", -19.0, 29.2},   /* Zimbabwe */
};

static int cmp_code(const char a[2], const char b[2])
{
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	if (a[1] != b[1])
		return a[1] < b[1] ? -1 : 1;
	return 0;
}

bool geo_country_find(const char *cc, double *lat, double *lon)
{
	char key[2];
	for (size_t i = 0; i < 2; i++) {
		char c = cc[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return false;
		key[i] = c;
	}
	if (cc[2] != '\0')
		return false;

	size_t lo = 0, hi = GS_ARRAY_SIZE(countries);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_code(key, countries[mid].cc);
		if (c == 0) {
			*lat = countries[mid].lat;
			*lon = countries[mid].lon;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

size_t country_count(void)
{
	return GS_ARRAY_SIZE(countries);
}

const char *country_code(size_t i)
{
	return countries[i].cc;
}

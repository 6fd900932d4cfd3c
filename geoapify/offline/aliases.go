package offline

// countryAliases are names people write for countries besides the GeoNames
// name and ISO codes (which the index adds itself). Values are ISO alpha-2.
var countryAliases = map[string]string{
	"USA": "US", "U.S.": "US", "U.S.A.": "US", "United States of America": "US",
	"America": "US", "the United States": "US",
	"UK": "GB", "U.K.": "GB", "Great Britain": "GB", "Britain": "GB",
	"UAE": "AE", "U.A.E.": "AE",
	"Palestine": "PS", "State of Palestine": "PS", "West Bank": "PS", "Gaza": "PS",
	"Gaza Strip": "PS", "Palestinian Territories": "PS",
	"Korea": "KR", "Republic of Korea": "KR",
	"Russian Federation": "RU",
	"Czech Republic":     "CZ",
	"Holland":            "NL", "Netherlands": "NL",
	"Côte d'Ivoire": "CI",
	"Burma":         "MM",
	"DRC":           "CD", "DR Congo": "CD", "Congo-Kinshasa": "CD",
	"Congo-Brazzaville": "CG",
	"Vatican City":      "VA", "Holy See": "VA",
	"PRC": "CN", "People's Republic of China": "CN",
	"Swaziland": "SZ", "Macedonia": "MK", "Türkiye": "TR", "Cape Verde": "CV",
	"East Timor": "TL", "Viet Nam": "VN",
	"Deutschland": "DE", "España": "ES", "Italia": "IT", "Brasil": "BR",
	"Schweiz": "CH", "Suisse": "CH", "Svizzera": "CH", "Österreich": "AT",
	"Belgique": "BE", "België": "BE", "Polska": "PL", "Sverige": "SE",
	"Norge": "NO", "Danmark": "DK", "Suomi": "FI", "Éire": "IE", "México": "MX",
	"Nippon": "JP", "Nihon": "JP", "Hellas": "GR", "Perú": "PE",
}

// divisionAliases are names people write for first-level divisions besides
// the GeoNames names. Values are "CC.admin1code".
var divisionAliases = map[string]string{
	"D.C.":         "US.DC",
	"Newfoundland": "CA.05",
	"Labrador":     "CA.05",
	"PEI":          "CA.09",
}

// writtenCodes lists the countries whose division codes people write in
// addresses ("Hollywood, CA", "Sydney NSW"); those codes then name the
// division in a query.
var writtenCodes = map[string]bool{"US": true, "CA": true, "AU": true}

// provinceCodes maps the numeric GeoNames codes of Canadian provinces and
// Australian states to their postal abbreviations (ISO 3166-2 suffixes).
var provinceCodes = map[string]string{
	"CA.01": "AB", "CA.02": "BC", "CA.03": "MB", "CA.04": "NB", "CA.05": "NL",
	"CA.07": "NS", "CA.08": "ON", "CA.09": "PE", "CA.10": "QC", "CA.11": "SK",
	"CA.12": "YT", "CA.13": "NT", "CA.14": "NU",
	"AU.01": "ACT", "AU.02": "NSW", "AU.03": "NT", "AU.04": "QLD", "AU.05": "SA",
	"AU.06": "TAS", "AU.07": "VIC", "AU.08": "WA",
}

// divisionCode returns the state_code Geoapify would report for a division,
// where GeoNames lets us know it: the US, British and Swiss GeoNames codes
// are the postal ones; Canada and Australia come from provinceCodes.
func divisionCode(iso, code string) string {
	switch iso {
	case "US", "GB", "CH":
		return code
	case "CA", "AU":
		return provinceCodes[iso+"."+code]
	}
	return ""
}

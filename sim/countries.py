"""The countries agents act for, in the order of every per-country array (`controlled[country]`,
levers by country, customs posts' `country`). "un" is the UN Commission on Narcotic Drugs."""

COUNTRIES = ("china", "india", "mexico", "us", "un")
CHINA, INDIA, MEXICO, US, UN = range(len(COUNTRIES))

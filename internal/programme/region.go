package programme

// LocalAuthorities are the ten Cardiff Capital Region authorities whose
// employees take part, spelt as the programme spells them: whom a
// participant may work for, and how reports group them.
var LocalAuthorities = []string{
	"Blaenau Gwent", "Bridgend", "Caerphilly", "Cardiff", "Merthyr Tydfil",
	"Monmouthshire", "Newport", "Rhondda Cynon Taf", "Torfaen", "Vale of Glamorgan",
}

// Themes are the two themes a participant works on.
var Themes = []string{"decarbonisation", "communities"}

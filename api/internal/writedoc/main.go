// Command writedoc writes the API's OpenAPI document to the file it is
// given: `go generate ./api/` runs it to refresh api/openapi.json.
package main

import (
	"fmt"
	"os"

	"github.com/infuse-cymru/journeys/api"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: writedoc FILE")
		os.Exit(2)
	}
	doc, err := api.OpenAPIDocument()
	if err == nil {
		err = os.WriteFile(os.Args[1], doc, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "writedoc:", err)
		os.Exit(1)
	}
}

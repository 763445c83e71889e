package programme

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
)

// messageFiles holds each programme version's message templates, one file
// per version, named like its programme file ("<id>-v<version>.yaml"). They
// live in a folder of their own because every programmes/*.yaml file is
// parsed as a programme definition.
//
//go:embed programmes/messages/*.yaml
var messageFiles embed.FS

// MessageTemplates returns the embedded message template file for a
// programme version. The templates belong to the programme data (a new
// programme version that adds a reminder adds its template beside it); the
// messages package parses and checks them.
func MessageTemplates(id string, version int) ([]byte, error) {
	name := fmt.Sprintf("programmes/messages/%s-v%d.yaml", id, version)
	data, err := messageFiles.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no message templates for programme %q version %d in this build: add programme/%s", id, version, name)
	}
	return data, err
}

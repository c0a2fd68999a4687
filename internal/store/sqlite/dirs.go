package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// makeParents creates the directories missing on the way to file and
// returns those whose entries must be synced once the database exists:
// file's own directory and the parent of every directory created.
func makeParents(file string) ([]string, error) {
	dir := filepath.Dir(file)
	toSync := []string{dir}
	for d := dir; ; {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		toSync = append(toSync, parent)
		d = parent
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	return toSync, nil
}

// syncDirs fsyncs directories, so that after a power loss the database
// file, its WAL and any directory Open created are still there to find.
// SQLite syncs the directory when it creates the WAL, but not the
// directories above it, which Open may have just created.
func syncDirs(dirs []string) error {
	for _, d := range dirs {
		f, err := os.Open(d)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("sync %s: %w", d, err)
		}
	}
	return nil
}

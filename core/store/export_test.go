package store

import "os"

// SetHookBeforeRename makes f's writer call fn between the fsync of a
// compaction's snapshot and its rename over the log.
func SetHookBeforeRename(f *File, fn func()) { f.hookBeforeRename = fn }

// LogFile returns the file f's writer appends to. Only for tests that
// break it; the writer owns it.
func LogFile(f *File) *os.File { return f.file }

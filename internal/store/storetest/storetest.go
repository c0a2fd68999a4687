// Package storetest is the contract every store.Store back end must pass.
// A back end's own test calls Run with a function that opens a fresh,
// empty store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// It is an ordinary package, not a _test file, so that back ends in other
// packages can import it.
//
// Beyond what store.go spells out, the suite pins down these choices, so
// that every back end makes them alike:
//   - Create rejects a key store.Key's documentation rules out (unknown
//     kind, empty mesh or name, a mesh whose Mesh is not its Name, a parent
//     on anything but a route or gateway route, none on those) and an empty
//     UID.
//   - List fails on a limit that is not positive.
//   - SetTags on a uid no resource has fails with ErrNotFound.
//   - Token's notBefore is exclusive: a token created at notBefore is gone.
//   - Refs compare as multisets: order is not kept by contract, duplicates
//     are; Referrers lists each referrer once.
//   - Write never fails because another Write ran at the same time:
//     read-modify-write inside Write needs no retry loop in the caller.
//   - A done context surfaces as an error wrapping its ctx.Err().
package storetest

import (
	"testing"

	"github.com/meshgate/meshgate/internal/store"
)

// Run runs every contract case as a subtest, each on its own store from
// open. open must return an empty store and arrange for it to be closed
// (t.Cleanup); Run does not close it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, open(t))
		})
	}
}

type contractCase struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// cases is the contract, grouped as the files that hold them.
var cases = []contractCase{
	// records.go
	{"CreateGet", testCreateGet},
	{"CreateDuplicate", testCreateDuplicate},
	{"KeysAreDistinct", testKeysAreDistinct},
	{"CreateRejectsMalformed", testCreateRejectsMalformed},
	{"GetNotFound", testGetNotFound},
	{"Update", testUpdate},
	{"UpdateWrongVersion", testUpdateWrongVersion},
	{"UpdateNotFound", testUpdateNotFound},
	{"Delete", testDelete},
	{"TimePrecision", testTimePrecision},
	{"SpecBytes", testSpecBytes},
	// list.go
	{"ListOrderAndPages", testListOrderAndPages},
	{"ListCountScope", testListCountScope},
	{"ListCountMeshes", testListCountMeshes},
	{"ListCarriesRefs", testListCarriesRefs},
	{"ListBadLimit", testListBadLimit},
	// refs.go
	{"Referrers", testReferrers},
	{"RefsFollowUpdateDelete", testRefsFollowUpdateDelete},
	// tags.go
	{"TagsSetReplace", testTagsSetReplace},
	{"TagsGoWithResource", testTagsGoWithResource},
	{"SetTagsUnknownUID", testSetTagsUnknownUID},
	// tokens.go
	{"TokenPutGet", testTokenPutGet},
	{"TokenExpiry", testTokenExpiry},
	{"TokenReplaceAndScope", testTokenReplaceAndScope},
	// tx.go
	{"FailingFnRollsBack", testFailingFnRollsBack},
	{"PanicRollsBack", testPanicRollsBack},
	{"ReadOnlyTx", testReadOnlyTx},
	{"ReadSnapshot", testReadSnapshot},
	{"Revision", testRevision},
	{"CanceledContext", testCanceledContext},
	{"WaitingWriterTimesOut", testWaitingWriterTimesOut},
	// concurrency.go
	{"RacingUpdatesOneWins", testRacingUpdatesOneWins},
	{"NoLostUpdates", testNoLostUpdates},
}

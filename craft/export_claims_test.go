package craft

// For the lab proofs in package craft_test: the whole messages whose short
// versions claim ndp-short-discarded sends, and the values they carry.
var (
	NeighborAdvertFor = neighborAdvert
	RouterAdvertFor   = routerAdvert
	ShortNATarget     = shortNATarget
	ShortNALinkAddr   = shortNALinkAddr
)

const ShortRAHopLimit = shortRAHopLimit

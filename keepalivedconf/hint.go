package keepalivedconf

// nearest returns the keyword of known closest to word by edit distance,
// when it is close enough to be a likely typo (at most 2 edits, and
// fewer than a third of the word), or "". Ties go to the alphabetically
// first keyword, so the hint does not depend on map order.
func nearest(word string, known map[string]bool) string {
	if len(word) < 3 || len(word) > 64 {
		return ""
	}
	max := min(2, len(word)/3)
	best, bestD := "", max+1
	for k := range known {
		if d := len(k) - len(word); d > max || -d > max || k == word {
			continue
		}
		d := editDistance(word, k, max+1)
		if d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or a value of at
// least limit once it is known to be that large.
func editDistance(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

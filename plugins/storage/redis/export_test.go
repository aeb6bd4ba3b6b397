package redis

import "context"

// SetLayout makes this build write and read layout v, with upgrade from
// v-1, until the test ends (restore).
func SetLayout(v int, upgrade func(ctx context.Context, s *Storage) error) (restore func()) {
	old, oldUp := layout, upgrades[v-1]
	layout, upgrades[v-1] = v, upgrade
	return func() {
		layout = old
		if oldUp == nil {
			delete(upgrades, v-1)
		} else {
			upgrades[v-1] = oldUp
		}
	}
}

// Package redis is storage.redis, a storage backend on Redis run as a
// process plugin (sdk/procplugin): registrations, observations and plugins'
// key-value state, shared by every wasm2m server that points at the same
// Redis and key prefix, so that several servers see one fleet.
//
// Layout, version 1, every key under the prefix (default "wasm2m:"):
//
//	layout          the layout version, "1"
//	reg:<id>        hash: ep (endpoint), b (abi.Registration, encoded)
//	ep:<endpoint>   the id of the endpoint's registration
//	regs            sorted set of ids, score 0: listing (by id) and count
//	exp             sorted set of ids by expiry (Unix ms of UpdatedAt +
//	                Lifetime): Expired reads the lapsed ones in O(log n)
//	obs:<token>     hash: r (registration id), b (abi.Observation)
//	regobs:<id>     set of the tokens of a registration's observations
//	kv:<ns>         hash: key → value
//	kvk:<ns>        sorted set of the keys of kv:<ns>, score 0 (listing)
//
// Values are the ABI's own messages (sdk/abi), whose rules (fields only
// added, never renumbered) let a newer plugin read an older layout's
// values. Every change that touches several keys is one Lua script, so
// that it is atomic for every server sharing the Redis; a change is
// acknowledged once Redis executed it (with Redis's own persistence:
// appendonly and its fsync policy decide what a crash of Redis keeps).
//
// Package redis imports core's model and store, sdk and go-redis; never
// host or other plugins.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// Layout is the version of the key layout this build writes and reads.
const Layout = 1

// layout is Layout; tests raise it to try an upgrade.
var layout = Layout

// Storage is the Redis storage: a procplugin.Storage.
type Storage struct {
	rdb    *goredis.Client
	p      string // key prefix
	closed atomic.Bool
}

var (
	_ procplugin.Storage = (*Storage)(nil)
	_ procplugin.Expirer = (*Storage)(nil)
)

// Open connects to Redis, checks the stored layout version (refusing a
// newer one with ErrLayout, upgrading an older one) and returns the
// Storage.
func Open(ctx context.Context, cfg Config) (*Storage, error) {
	cfg.defaults()
	rdb := goredis.NewClient(&goredis.Options{
		Addr:     cfg.Addr,
		Username: cfg.Username,
		Password: cfg.Password,
		DB:       cfg.DB,
		PoolSize: cfg.PoolSize,
	})
	s := &Storage{rdb: rdb, p: cfg.Prefix}
	if err := s.checkLayout(ctx); err != nil {
		rdb.Close()
		return nil, err
	}
	return s, nil
}

// upgrades[v] moves a layout of version v to v+1. Version 1 is the first:
// there is none yet. An upgrade runs once, by the server that marks the
// layout key "upgrading:<v>" first; other servers starting meanwhile wait
// for the new version. An upgrade that fails puts the version back.
var upgrades = map[int]func(ctx context.Context, s *Storage) error{}

func (s *Storage) checkLayout(ctx context.Context) error {
	key := s.p + "layout"
	for {
		v, err := s.rdb.Get(ctx, key).Result()
		if errors.Is(err, goredis.Nil) {
			ok, err := s.rdb.SetNX(ctx, key, strconv.Itoa(layout), 0).Result()
			if err != nil {
				return fmt.Errorf("storage.redis: %w", err)
			}
			if ok {
				return nil
			}
			continue // another server wrote it first
		}
		if err != nil {
			return fmt.Errorf("storage.redis: %s: %w", s.rdbAddr(), err)
		}
		if strings.HasPrefix(v, "upgrading:") {
			// Another server is upgrading: wait for it.
			select {
			case <-ctx.Done():
				return fmt.Errorf("storage.redis: waiting for an upgrade of %q: %w", s.p, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("storage.redis: %w: key %q holds %q", ErrLayout, key, v)
		}
		if n == layout {
			return nil
		}
		if n > layout {
			return fmt.Errorf("storage.redis: %w: the data under %q is in layout %d, this build reads up to %d: run a newer wasm2m", ErrLayout, s.p, n, layout)
		}
		up := upgrades[n]
		if up == nil {
			return fmt.Errorf("storage.redis: %w: no upgrade from layout %d", ErrLayout, n)
		}
		// One server upgrades: the one that moves the layout key from n
		// to "upgrading"; the others wait for the key to change.
		took, err := s.rdb.Eval(ctx, `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], 'upgrading:'..ARGV[1]) return 1 end return 0`,
			[]string{key}, strconv.Itoa(n)).Int()
		if err != nil {
			return fmt.Errorf("storage.redis: %w", err)
		}
		if took == 0 {
			continue
		}
		if err := up(ctx, s); err != nil {
			s.rdb.Set(ctx, key, strconv.Itoa(n), 0) // let the next start try again
			return fmt.Errorf("storage.redis: upgrade from layout %d: %w", n, err)
		}
		if err := s.rdb.Set(ctx, key, strconv.Itoa(n+1), 0).Err(); err != nil {
			return fmt.Errorf("storage.redis: %w", err)
		}
	}
}

func (s *Storage) rdbAddr() string { return s.rdb.Options().Addr }

// ErrLayout is wrapped by Open's error when the data under the prefix is
// in a layout this build does not read.
var ErrLayout = errors.New("unsupported storage layout")

// Close closes the connections. Close after Close returns nil.
func (s *Storage) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.rdb.Close()
}

// fail turns a Redis error into the error of a call: the context's error
// as it is, anything else a 5.03 (the backend is unavailable).
func (s *Storage) fail(what string, err error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("storage.redis: %s: %w", what, err)
	}
	return fmt.Errorf("%w: %w", &model.Error{Code: model.ServiceUnavailable, Msg: "storage.redis: " + what}, err)
}

func expiryMS(r *abi.Registration) int64 {
	return time.Unix(0, r.UpdatedAtUnixNano).Add(time.Duration(r.Lifetime) * time.Second).UnixMilli()
}

var putRegistration = goredis.NewScript(`
local p, id, ep, blob, exp = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local out = false
local holder = redis.call('GET', p..'ep:'..ep)
if holder and holder ~= id then
  out = redis.call('HGET', p..'reg:'..holder, 'b')
  for _, t in ipairs(redis.call('SMEMBERS', p..'regobs:'..holder)) do
    redis.call('DEL', p..'obs:'..t)
  end
  redis.call('DEL', p..'regobs:'..holder, p..'reg:'..holder)
  redis.call('ZREM', p..'regs', holder)
  redis.call('ZREM', p..'exp', holder)
end
local oldep = redis.call('HGET', p..'reg:'..id, 'ep')
if oldep and oldep ~= ep and redis.call('GET', p..'ep:'..oldep) == id then
  redis.call('DEL', p..'ep:'..oldep)
end
redis.call('HSET', p..'reg:'..id, 'ep', ep, 'b', blob)
redis.call('SET', p..'ep:'..ep, id)
redis.call('ZADD', p..'regs', 0, id)
redis.call('ZADD', p..'exp', exp, id)
return out
`)

// PutRegistration implements procplugin.Storage.
func (s *Storage) PutRegistration(ctx context.Context, r *abi.Registration) (*abi.Registration, error) {
	blob := r.MarshalAppend(nil)
	res, err := putRegistration.Run(ctx, s.rdb, nil, s.p, r.ID, r.Endpoint, blob, expiryMS(r)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail("put registration", err)
	}
	if b, ok := res.(string); ok {
		return decodeRegistration(b)
	}
	return nil, nil
}

func decodeRegistration(b string) (*abi.Registration, error) {
	var r abi.Registration
	if err := r.Unmarshal([]byte(b)); err != nil {
		return nil, model.Errorf(model.InternalServerError, "storage.redis: a stored registration does not decode: %v", err)
	}
	return &r, nil
}

func decodeObservation(b string) (*abi.Observation, error) {
	var o abi.Observation
	if err := o.Unmarshal([]byte(b)); err != nil {
		return nil, model.Errorf(model.InternalServerError, "storage.redis: a stored observation does not decode: %v", err)
	}
	return &o, nil
}

// deleteBody removes registration ARGV[2] and its observations and
// returns them; deleteRegistration runs it as it is, deleteExpired after
// checking the registration's expiry.
const deleteBody = `
local reg = redis.call('HMGET', p..'reg:'..id, 'ep', 'b')
if not reg[2] then return false end
local out = {reg[2]}
for _, t in ipairs(redis.call('SMEMBERS', p..'regobs:'..id)) do
  local b = redis.call('HGET', p..'obs:'..t, 'b')
  if b then table.insert(out, b) end
  redis.call('DEL', p..'obs:'..t)
end
redis.call('DEL', p..'regobs:'..id, p..'reg:'..id)
if redis.call('GET', p..'ep:'..reg[1]) == id then redis.call('DEL', p..'ep:'..reg[1]) end
redis.call('ZREM', p..'regs', id)
redis.call('ZREM', p..'exp', id)
return out
`

var deleteRegistration = goredis.NewScript(`
local p, id = ARGV[1], ARGV[2]
` + deleteBody)

// deleteExpired deletes only if the registration's expiry (its score in
// exp) is still before ARGV[3]: the check and the delete are one script,
// atomic for every server sharing the Redis.
var deleteExpired = goredis.NewScript(`
local p, id = ARGV[1], ARGV[2]
local at = redis.call('ZSCORE', p..'exp', id)
if not at or tonumber(at) >= tonumber(ARGV[3]) then return false end
` + deleteBody)

func notFound(what, key string) error {
	return &model.Error{Code: model.NotFound, Msg: fmt.Sprintf("storage.redis: %s %q not found", what, key)}
}

// DeleteRegistration implements procplugin.Storage.
func (s *Storage) DeleteRegistration(ctx context.Context, id string) (*abi.Registration, []abi.Observation, error) {
	res, err := deleteRegistration.Run(ctx, s.rdb, nil, s.p, id).StringSlice()
	return s.deleted(id, res, err)
}

// DeleteExpired implements procplugin.Expirer: the registration is removed
// only if its expiry is still before before, in one script, so that of
// several servers expiring it only one gets it (the others a 4.04).
func (s *Storage) DeleteExpired(ctx context.Context, id string, before time.Time) (*abi.Registration, []abi.Observation, error) {
	res, err := deleteExpired.Run(ctx, s.rdb, nil, s.p, id, before.UnixMilli()).StringSlice()
	return s.deleted(id, res, err)
}

// deleted decodes what deleteBody returned.
func (s *Storage) deleted(id string, res []string, err error) (*abi.Registration, []abi.Observation, error) {
	if errors.Is(err, goredis.Nil) {
		return nil, nil, notFound("registration", id)
	}
	if err != nil {
		return nil, nil, s.fail("delete registration", err)
	}
	r, err := decodeRegistration(res[0])
	if err != nil {
		return nil, nil, err
	}
	var obs []abi.Observation
	for _, b := range res[1:] {
		o, err := decodeObservation(b)
		if err != nil {
			return nil, nil, err
		}
		obs = append(obs, *o)
	}
	return r, obs, nil
}

// Registration implements procplugin.Storage.
func (s *Storage) Registration(ctx context.Context, id string) (*abi.Registration, error) {
	b, err := s.rdb.HGet(ctx, s.p+"reg:"+id, "b").Result()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound("registration", id)
	}
	if err != nil {
		return nil, s.fail("registration", err)
	}
	return decodeRegistration(b)
}

var byEndpoint = goredis.NewScript(`
local p, ep = ARGV[1], ARGV[2]
local id = redis.call('GET', p..'ep:'..ep)
if not id then return false end
return redis.call('HGET', p..'reg:'..id, 'b')
`)

// RegistrationByEndpoint implements procplugin.Storage.
func (s *Storage) RegistrationByEndpoint(ctx context.Context, ep string) (*abi.Registration, error) {
	b, err := byEndpoint.Run(ctx, s.rdb, nil, s.p, ep).Text()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound("endpoint", ep)
	}
	if err != nil {
		return nil, s.fail("registration by endpoint", err)
	}
	return decodeRegistration(b)
}

// Registrations implements procplugin.Storage: a page of the registrations
// in id order after cursor, the last id of a page being the next cursor.
func (s *Storage) Registrations(ctx context.Context, cursor string, limit int) ([]abi.Registration, string, error) {
	min := "-"
	if cursor != "" {
		min = "(" + cursor
	}
	ids, err := s.rdb.ZRangeByLex(ctx, s.p+"regs", &goredis.ZRangeBy{Min: min, Max: "+", Count: int64(limit)}).Result()
	if err != nil {
		return nil, "", s.fail("registrations", err)
	}
	if len(ids) == 0 {
		return nil, "", nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*goredis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGet(ctx, s.p+"reg:"+id, "b")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, "", s.fail("registrations", err)
	}
	out := make([]abi.Registration, 0, len(ids))
	for _, c := range cmds {
		b, err := c.Result()
		if errors.Is(err, goredis.Nil) {
			continue // deleted meanwhile
		}
		r, err := decodeRegistration(b)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *r)
	}
	next := ""
	if len(ids) == limit {
		next = ids[len(ids)-1]
	}
	return out, next, nil
}

// CountRegistrations implements procplugin.Storage.
func (s *Storage) CountRegistrations(ctx context.Context) (int, error) {
	n, err := s.rdb.ZCard(ctx, s.p+"regs").Result()
	if err != nil {
		return 0, s.fail("count", err)
	}
	return int(n), nil
}

// Expired returns the ids of at most limit registrations whose lifetime
// ended before t, earliest first: one ZRANGEBYSCORE, however large the
// fleet.
func (s *Storage) Expired(ctx context.Context, before time.Time, limit int) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.p+"exp", &goredis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(before.UnixMilli(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, s.fail("expired", err)
	}
	return ids, nil
}

var putObservation = goredis.NewScript(`
local p, tok, rid, blob = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', p..'reg:'..rid) == 0 then return 0 end
local old = redis.call('HGET', p..'obs:'..tok, 'r')
if old and old ~= rid then redis.call('SREM', p..'regobs:'..old, tok) end
redis.call('HSET', p..'obs:'..tok, 'r', rid, 'b', blob)
redis.call('SADD', p..'regobs:'..rid, tok)
return 1
`)

// PutObservation implements procplugin.Storage.
func (s *Storage) PutObservation(ctx context.Context, o *abi.Observation) error {
	n, err := putObservation.Run(ctx, s.rdb, nil, s.p, o.Token, o.RegistrationID, o.MarshalAppend(nil)).Int()
	if err != nil {
		return s.fail("put observation", err)
	}
	if n == 0 {
		return notFound("registration", o.RegistrationID)
	}
	return nil
}

var deleteObservation = goredis.NewScript(`
local p, tok = ARGV[1], ARGV[2]
local o = redis.call('HMGET', p..'obs:'..tok, 'r', 'b')
if not o[2] then return false end
redis.call('DEL', p..'obs:'..tok)
redis.call('SREM', p..'regobs:'..o[1], tok)
return o[2]
`)

// DeleteObservation implements procplugin.Storage.
func (s *Storage) DeleteObservation(ctx context.Context, token []byte) (*abi.Observation, error) {
	b, err := deleteObservation.Run(ctx, s.rdb, nil, s.p, token).Text()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound("observation", fmt.Sprintf("%x", token))
	}
	if err != nil {
		return nil, s.fail("delete observation", err)
	}
	return decodeObservation(b)
}

// Observation implements procplugin.Storage.
func (s *Storage) Observation(ctx context.Context, token []byte) (*abi.Observation, error) {
	b, err := s.rdb.HGet(ctx, s.p+"obs:"+string(token), "b").Result()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound("observation", fmt.Sprintf("%x", token))
	}
	if err != nil {
		return nil, s.fail("observation", err)
	}
	return decodeObservation(b)
}

var observationsOf = goredis.NewScript(`
local p, rid = ARGV[1], ARGV[2]
local out = {}
for _, t in ipairs(redis.call('SMEMBERS', p..'regobs:'..rid)) do
  local b = redis.call('HGET', p..'obs:'..t, 'b')
  if b then table.insert(out, b) end
end
return out
`)

// ObservationsOf implements procplugin.Storage.
func (s *Storage) ObservationsOf(ctx context.Context, id string) ([]abi.Observation, error) {
	bs, err := observationsOf.Run(ctx, s.rdb, nil, s.p, id).StringSlice()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, s.fail("observations", err)
	}
	var out []abi.Observation
	for _, b := range bs {
		o, err := decodeObservation(b)
		if err != nil {
			return nil, err
		}
		out = append(out, *o)
	}
	return out, nil
}

// checkKV refuses what store.KV refuses, as host/procplugin.CheckKV does
// (plugins never import the host).
func checkKV(ns, key string, value int) error {
	switch {
	case ns == "" || !validUTF8(ns):
		return model.Errorf(model.BadRequest, "kv: namespace empty or not UTF-8")
	case len(ns) > store.MaxKVNamespace:
		return model.Errorf(model.RequestEntityTooLarge, "kv: namespace of %d bytes, at most %d", len(ns), store.MaxKVNamespace)
	case key == "" || !validUTF8(key):
		return model.Errorf(model.BadRequest, "kv: key empty or not UTF-8")
	case len(key) > store.MaxKVKey:
		return model.Errorf(model.RequestEntityTooLarge, "kv: key of %d bytes, at most %d", len(key), store.MaxKVKey)
	case value > store.MaxKVValue:
		return model.Errorf(model.RequestEntityTooLarge, "kv: value of %d bytes, at most %d", value, store.MaxKVValue)
	}
	return nil
}

func validUTF8(s string) bool { return utf8.ValidString(s) }

// KVGet implements procplugin.Storage.
func (s *Storage) KVGet(ctx context.Context, ns, key string) ([]byte, error) {
	if err := checkKV(ns, key, -1); err != nil {
		return nil, err
	}
	v, err := s.rdb.HGet(ctx, s.p+"kv:"+ns, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound("key", key)
	}
	if err != nil {
		return nil, s.fail("kv get", err)
	}
	return v, nil
}

// KVPut implements procplugin.Storage.
func (s *Storage) KVPut(ctx context.Context, ns, key string, value []byte) error {
	if err := checkKV(ns, key, len(value)); err != nil {
		return err
	}
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, s.p+"kv:"+ns, key, value)
	pipe.ZAdd(ctx, s.p+"kvk:"+ns, goredis.Z{Member: key})
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail("kv put", err)
	}
	return nil
}

// KVDelete implements procplugin.Storage.
func (s *Storage) KVDelete(ctx context.Context, ns, key string) error {
	if err := checkKV(ns, key, -1); err != nil {
		return err
	}
	pipe := s.rdb.TxPipeline()
	pipe.HDel(ctx, s.p+"kv:"+ns, key)
	pipe.ZRem(ctx, s.p+"kvk:"+ns, key)
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail("kv delete", err)
	}
	return nil
}

// KVList implements procplugin.Storage with ZRANGEBYLEX over the keys.
// UTF-8 never holds the byte 0xff, so "[prefix\xff" bounds the keys that
// start with prefix.
func (s *Storage) KVList(ctx context.Context, ns, prefix, after string, limit int) ([]string, bool, error) {
	if err := checkKV(ns, "k", -1); err != nil {
		return nil, false, err
	}
	if limit <= 0 || limit > store.MaxKVList {
		limit = store.MaxKVList
	}
	min, max := "-", "+"
	if prefix != "" {
		min, max = "["+prefix, "["+prefix+"\xff"
	}
	if after != "" && after >= prefix {
		min = "(" + after
	}
	keys, err := s.rdb.ZRangeByLex(ctx, s.p+"kvk:"+ns, &goredis.ZRangeBy{Min: min, Max: max, Count: int64(limit + 1)}).Result()
	if err != nil {
		return nil, false, s.fail("kv list", err)
	}
	if len(keys) > limit {
		return keys[:limit:limit], true, nil
	}
	if len(keys) == 0 {
		keys = nil
	}
	return keys, false, nil
}

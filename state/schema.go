package state

import (
	memdb "github.com/hashicorp/go-memdb"
)

// Table names. Each has exactly one writer: functions the API, the rest the
// scheduler.
const (
	tableFunctions = "functions"
	tableTasks     = "tasks"
	tableStatuses  = "statuses"
	tableMeta      = "meta"
)

// tableOrder is every table, in the order locks on keys of several tables
// are taken.
var tableOrder = []string{tableFunctions, tableTasks, tableStatuses, tableMeta}

const (
	indexID       = "id"
	indexName     = "name"
	indexFunction = "function"
)

// meta holds singleton values such as the framework id, keyed by name.
type meta struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableFunctions: functionsTable(),
		tableTasks:     tasksTable(),
		tableStatuses:  statusesTable(),
		tableMeta:      metaTable(),
	}}
}

func functionsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableFunctions,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, AllowMissing: false,
				Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			// Names are optional, so the index skips functions without one.
			indexName: {Name: indexName, Unique: true, AllowMissing: true,
				Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		},
	}
}

func tasksTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableTasks,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, AllowMissing: false,
				Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			// Stems of the warm pool have no function yet (Task.IsStem).
			indexFunction: {Name: indexFunction, Unique: false, AllowMissing: true,
				Indexer: taskFunctionIndex{}},
		},
	}
}

func statusesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableStatuses,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, AllowMissing: false,
				Indexer: &memdb.StringFieldIndex{Field: "FunctionID"}},
		},
	}
}

func metaTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableMeta,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, AllowMissing: false,
				Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		},
	}
}

package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/xlbatch/xlbatch/udf"
)

// excelizeFill is the same fill written the way excelize allows: formulas
// read with GetCellFormula, the same engine computing every distinct call at
// once, then SetCellValue + SetCellFormula per cell and SaveAs. (It is only a
// yardstick: SetCellFormula forces t="str" on numbers, and the cm attribute
// of dynamic arrays is not written back.)
func excelizeFill(ctx context.Context, reg *udf.Registry, in, out string, rows int) (cells, unique int, err error) {
	f, err := excelize.OpenFile(in)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	const sh = "Data"
	type row struct {
		addr       string
		fB, fD, fE string
	}
	data := make([]row, rows)
	for i := range data {
		r := strconv.Itoa(i + 2)
		d := &data[i]
		if d.addr, err = f.GetCellValue(sh, "A"+r); err != nil {
			return 0, 0, err
		}
		if d.fB, err = f.GetCellFormula(sh, "B"+r); err != nil {
			return 0, 0, err
		}
		if d.fD, err = f.GetCellFormula(sh, "D"+r); err != nil {
			return 0, 0, err
		}
		if d.fE, err = f.GetCellFormula(sh, "E"+r); err != nil {
			return 0, 0, err
		}
	}
	// The three calls of each row, computed once per distinct argument list.
	index := map[string]int{}
	var calls []udf.Call
	key := func(c udf.Call) int {
		k := c.Fn + fmt.Sprint(c.Args)
		if i, ok := index[k]; ok {
			return i
		}
		index[k] = len(calls)
		calls = append(calls, c)
		return len(calls) - 1
	}
	refs := make([][3]int, rows)
	for i, d := range data {
		a := udf.Text(d.addr)
		refs[i] = [3]int{
			key(udf.Call{Fn: "GEOLOCATE", Args: []udf.Value{udf.Array([][]udf.Value{{a}})}}),
			key(udf.Call{Fn: "GEOCODE", Args: []udf.Value{a, udf.Text("city")}}),
			key(udf.Call{Fn: "GEOCODE", Args: []udf.Value{a, udf.Text("country_code")}}),
		}
	}
	res := reg.CallMany(ctx, calls)
	arrayType := excelize.STCellFormulaTypeArray
	for i, d := range data {
		r := strconv.Itoa(i + 2)
		loc := res[refs[i][0]]
		lat, lon := any(""), any("")
		if rs := loc.Rows(); len(rs) == 1 && len(rs[0]) == 2 {
			lat, lon = rs[0][0].Num(), rs[0][1].Num()
		}
		ref := "B" + r + ":C" + r
		steps := []error{
			f.SetCellValue(sh, "B"+r, lat),
			f.SetCellFormula(sh, "B"+r, d.fB, excelize.FormulaOpts{Type: &arrayType, Ref: &ref}),
			f.SetCellValue(sh, "C"+r, lon),
			f.SetCellValue(sh, "D"+r, res[refs[i][1]].String()),
			f.SetCellFormula(sh, "D"+r, d.fD),
			f.SetCellValue(sh, "E"+r, res[refs[i][2]].String()),
			f.SetCellFormula(sh, "E"+r, d.fE),
		}
		for _, err := range steps {
			if err != nil {
				return 0, 0, err
			}
		}
	}
	if err := f.SaveAs(out); err != nil {
		return 0, 0, err
	}
	return 3 * rows, len(calls), nil
}

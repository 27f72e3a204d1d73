/*
 * jsonb_value.c
 *		JSON numbers from doubles and floats, made as jsonb_in makes them
 *		from their shortest text, without the text being parsed.
 */
#include "postgres.h"

#include "common/int.h"
#include "common/shortest_dec.h"

#include "detect/jsonb_value.h"

/*
 * Whether int64_div_fast_to_numeric(m, scale) computes without overflow in
 * every PostgreSQL 15 minor release: it first multiplies m by the power of
 * ten that completes scale to a multiple of four decimal digits, and only
 * later releases carry that product in 128 bits.
 */
static bool
fits_fast_path(int64 m, int scale)
{
	static const int64 completion[4] = {1, 1000, 100, 10};
	int64		product;

	return !pg_mul_s64_overflow(m, completion[scale % 4], &product);
}

/*
 * v as the JSON number written in buf, the shortest text of a finite float
 * or double: the same numeric, digits and display scale, that numeric_in
 * makes of it.  The text's digits, at most 17, are an int64 m and its
 * decimals a scale, so the numeric is m / 10^scale made directly; only a
 * large number (1e+300) still goes through numeric_in.
 */
static JsonbValue *
shortest_number(JsonbValue *v, const char *buf)
{
	const char *p = buf;
	bool		negative = false;
	bool		point = false;
	int64		m = 0;
	int			scale = 0;

	if (*p == '-')
	{
		negative = true;
		p++;
	}
	for (; (*p >= '0' && *p <= '9') || *p == '.'; p++)
	{
		if (*p == '.')
			point = true;
		else
		{
			m = m * 10 + (*p - '0');
			scale += point;
		}
	}
	if (*p == 'e')
		scale -= atoi(p + 1);
	if (negative)
		m = -m;
	/* 1e+20: the digits times a power of ten, when that is an int64 */
	while (scale < 0 && !pg_mul_s64_overflow(m, 10, &m))
		scale++;
	v->type = jbvNumeric;
	if (scale >= 0 && fits_fast_path(m, scale))
		v->val.numeric = int64_div_fast_to_numeric(m, scale);
	else
		vigil_jsonb_number(v, buf);
	return v;
}

/*
 * v as the JSON number x (finite) written with the fewest digits that read
 * back as x, as float8out writes it.
 */
JsonbValue *
vigil_jsonb_double(JsonbValue *v, double x)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	Assert(isfinite(x));
	double_to_shortest_decimal_buf(x, buf);
	return shortest_number(v, buf);
}

/*
 * v as the JSON number x (finite) written with the fewest digits that read
 * back as the float x, as float4out writes it: a model's features and
 * contributions are floats, whose widening to double would print digits
 * they do not have.
 */
JsonbValue *
vigil_jsonb_float(JsonbValue *v, float x)
{
	char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

	Assert(isfinite(x));
	float_to_shortest_decimal_buf(x, buf);
	return shortest_number(v, buf);
}

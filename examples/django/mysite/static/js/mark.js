// The end of the import chain; collectstatic rewrites each import to a hashed name.
export const mark = ", three imports deep";

// plot.h - line charts as SVG files, drawn by the toolkit itself (no plotting library).
#ifndef HYENA_PLOT_H
#define HYENA_PLOT_H

#include <stdbool.h>

typedef struct PlotSeries {
    const char *label;
    const double *x, *y;   // n points; points with a non-finite coordinate (or <= 0 on a log axis) are skipped
    int n;
} PlotSeries;

// How one series is drawn, for charts that pair series (plot_svg_styled); plain charts draw each
// series as a solid line in the next palette colour.
typedef struct PlotStyle {
    int color;             // 1.. picks a palette colour; 0: by the series' order
    bool dashed, markers;  // a dashed line; a dot at every point (for series of a few points)
} PlotStyle;

typedef struct PlotOptions {
    const char *title, *x_label, *y_label;
    bool log_x, log_y;     // logarithmic axes (base 10 ticks)
} PlotOptions;

// Render the chart as SVG text into a malloc'd string (the caller frees it).
char *plot_svg(const PlotOptions *options, const PlotSeries *series, int n_series);
// The same with a style per series (styles: n_series entries, or NULL for the plain look).
char *plot_svg_styled(const PlotOptions *options, const PlotSeries *series, const PlotStyle *styles, int n_series);
// Render and write atomically to path. Prints a one-line error and returns false on failure.
bool plot_svg_write(const char *path, const PlotOptions *options, const PlotSeries *series, int n_series);
bool plot_svg_write_styled(const char *path, const PlotOptions *options, const PlotSeries *series,
                           const PlotStyle *styles, int n_series);

#endif

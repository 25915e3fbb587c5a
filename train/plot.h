// plot.h - line charts as SVG files, drawn by the toolkit itself (no plotting library).
#ifndef HYENA_PLOT_H
#define HYENA_PLOT_H

#include <stdbool.h>

typedef struct PlotSeries {
    const char *label;
    const double *x, *y;   // n points; points with a non-finite coordinate (or <= 0 on a log axis) are skipped
    int n;
} PlotSeries;

typedef struct PlotOptions {
    const char *title, *x_label, *y_label;
    bool log_x, log_y;     // logarithmic axes (base 10 ticks)
} PlotOptions;

// Render the chart as SVG text into a malloc'd string (the caller frees it).
char *plot_svg(const PlotOptions *options, const PlotSeries *series, int n_series);
// Render and write atomically to path. Prints a one-line error and returns false on failure.
bool plot_svg_write(const char *path, const PlotOptions *options, const PlotSeries *series, int n_series);

#endif

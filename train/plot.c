// plot.c - an SVG line chart: axes with round ticks, one polyline per series, a legend.
//
// SVG is text: a chart is a handful of <line>, <polyline> and <text> elements in a fixed
// 720 x 440 box, so the whole renderer fits on a page. Data coordinates are mapped linearly (or
// through log10) onto the plot area, whose y axis points down in SVG.
#define _POSIX_C_SOURCE 200809L  // open_memstream
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define WIDTH 720
#define HEIGHT 440
#define LEFT 80
#define RIGHT 170   // room for the legend
#define TOP 40
#define BOTTOM 60

static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

static bool usable(double v, bool log_axis) { return isfinite(v) && (!log_axis || v > 0); }
static double axis_value(double v, bool log_axis) { return log_axis ? log10(v) : v; }

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about 6 ticks over span.
static double nice_step(double span) {
    double raw = span / 6.0, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

static void write_escaped(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static void tick_label(char *buf, size_t size, double v, bool log_axis) {
    if (log_axis) {
        double p = pow(10.0, v);
        if (p >= 1e5 || p < 1e-3) snprintf(buf, size, "1e%d", (int)lround(v));
        else snprintf(buf, size, "%g", p);
    } else {
        snprintf(buf, size, "%g", fabs(v) < 1e-12 ? 0.0 : v);
    }
}

char *plot_svg(const PlotOptions *o, const PlotSeries *series, int n_series) {
    return plot_svg_styled(o, series, NULL, n_series);
}

char *plot_svg_styled(const PlotOptions *o, const PlotSeries *series, const PlotStyle *styles, int n_series) {
    // The data range, in axis units.
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            if (!usable(series[s].x[i], o->log_x) || !usable(series[s].y[i], o->log_y)) continue;
            double x = axis_value(series[s].x[i], o->log_x), y = axis_value(series[s].y[i], o->log_y);
            x0 = fmin(x0, x); x1 = fmax(x1, x);
            y0 = fmin(y0, y); y1 = fmax(y1, y);
        }
    if (!(x0 <= x1)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }  // nothing to draw: still a valid chart
    if (x1 - x0 < 1e-12) { x0 -= 0.5; x1 += 0.5; }
    if (y1 - y0 < 1e-12) { y0 -= 0.5; y1 += 0.5; }
    double xstep = o->log_x ? 1.0 : nice_step(x1 - x0), ystep = o->log_y ? 1.0 : nice_step(y1 - y0);
    if (o->log_x && x1 - x0 > 12) xstep = ceil((x1 - x0) / 6);
    if (o->log_y && y1 - y0 > 12) ystep = ceil((y1 - y0) / 6);
    x0 = floor(x0 / xstep) * xstep; x1 = ceil(x1 / xstep) * xstep;
    y0 = floor(y0 / ystep) * ystep; y1 = ceil(y1 / ystep) * ystep;
    double pw = WIDTH - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;

    char *text = NULL;
    size_t text_size = 0;
    FILE *f = open_memstream(&text, &text_size);
    if (f == NULL) return NULL;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", WIDTH, HEIGHT, WIDTH, HEIGHT);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, HEIGHT);
    fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">", LEFT + (int)pw / 2);
    write_escaped(f, o->title);
    fprintf(f, "</text>\n");
    // Grid and tick labels.
    char label[32];
    for (double v = x0; v <= x1 + 1e-9 * xstep; v += xstep) {
        double px = LEFT + (v - x0) / (x1 - x0) * pw;
        tick_label(label, sizeof label, v, o->log_x);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", px, TOP, px, TOP + ph);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", px, TOP + ph + 18, label);
    }
    for (double v = y0; v <= y1 + 1e-9 * ystep; v += ystep) {
        double py = TOP + ph - (v - y0) / (y1 - y0) * ph;
        tick_label(label, sizeof label, v, o->log_y);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT, py, LEFT + pw, py);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", LEFT - 6, py + 4, label);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n", LEFT, TOP,
            pw, ph);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", LEFT + (int)pw / 2, HEIGHT - 18);
    write_escaped(f, o->x_label);
    fprintf(f, "</text>\n<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">", TOP + (int)ph / 2);
    write_escaped(f, o->y_label);
    fprintf(f, "</text>\n");
    // One polyline per series (a skipped point breaks nothing: the line joins its neighbours).
    for (int s = 0; s < n_series; s++) {
        int n_colors = (int)(sizeof colors / sizeof colors[0]);
        PlotStyle style = styles ? styles[s] : (PlotStyle){0, false, false};
        const char *color = colors[(style.color > 0 ? style.color - 1 : s) % n_colors];
        const char *dash = style.dashed ? " stroke-dasharray=\"6 4\"" : "";
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color, dash);
        // Twice over the points: the line, then (if asked) a dot at each.
        for (int pass = 0; pass < (style.markers ? 2 : 1); pass++) {
            for (int i = 0; i < series[s].n; i++) {
                if (!usable(series[s].x[i], o->log_x) || !usable(series[s].y[i], o->log_y)) continue;
                double px = LEFT + (axis_value(series[s].x[i], o->log_x) - x0) / (x1 - x0) * pw;
                double py = TOP + ph - (axis_value(series[s].y[i], o->log_y) - y0) / (y1 - y0) * ph;
                if (pass == 0) fprintf(f, "%.1f,%.1f ", px, py);
                else fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", px, py, color);
            }
            if (pass == 0) fprintf(f, "\"/>\n");
        }
        int ly = TOP + 10 + 20 * s;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%d\" x2=\"%.0f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                LEFT + pw + 12, ly, LEFT + pw + 36, ly, color, dash);
        fprintf(f, "<text x=\"%.0f\" y=\"%d\">", LEFT + pw + 42, ly + 4);
        write_escaped(f, series[s].label);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
    fclose(f);
    return text;
}

bool plot_svg_write(const char *path, const PlotOptions *options, const PlotSeries *series, int n_series) {
    return plot_svg_write_styled(path, options, series, NULL, n_series);
}

bool plot_svg_write_styled(const char *path, const PlotOptions *options, const PlotSeries *series,
                           const PlotStyle *styles, int n_series) {
    char *svg = plot_svg_styled(options, series, styles, n_series);
    if (svg == NULL) {
        fprintf(stderr, "hyena: cannot render the chart for %s\n", path);
        return false;
    }
    bool ok = file_write_atomic(path, svg, strlen(svg));
    free(svg);
    return ok;
}

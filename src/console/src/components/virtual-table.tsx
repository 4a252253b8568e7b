/**
 * A table that stays fluid with thousands of rows: only the rows in view (plus a few either
 * side) are in the DOM. Every row has the same height, so the rows to draw follow from the
 * scroll offset alone; two spacer rows keep the scroll bar honest. It stays a real <table>
 * (header cells, aria-rowcount on the table and aria-rowindex on each drawn row), so screen
 * readers still announce "row 512 of 1,200". Sortable columns get a button in their header
 * (keyboard: Tab to it, Enter) and aria-sort.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import './virtual-table.css';

export type SortDirection = 'ascending' | 'descending';
export interface SortState {
  key: string;
  direction: SortDirection;
}

export interface Column<T> {
  key: string;
  /** Header text; also the sort button's name. */
  label: string;
  /** What the header cell shows instead of the label (a select-all checkbox). */
  header?: ComponentChildren;
  width: number;
  numeric?: boolean;
  sortable?: boolean;
  cell: (row: T) => ComponentChildren;
}

interface Props<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  sort?: SortState | undefined;
  onSort?: (key: string) => void;
  rowHeight?: number;
  /** Height of the scrolling area in pixels. */
  height?: number;
  rowClass?: (row: T) => string | undefined;
}

/** Rows drawn above and below the visible ones, so a fast scroll or Tab finds them ready. */
const OVERSCAN = 8;

export function VirtualTable<T>({ caption, columns, rows, rowKey, sort, onSort, rowHeight = 40, height = 560, rowClass }: Props<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(height);
  const frame = useRef(0);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return undefined;
    setViewport(element.clientHeight || height);
    const observer = new ResizeObserver(() => setViewport(element.clientHeight || height));
    observer.observe(element);
    return () => observer.disconnect();
  }, [height]);

  // A shorter list (a filter) can leave the offset past its end: go back into range.
  useEffect(() => {
    const element = scroller.current;
    if (element && element.scrollTop > rows.length * rowHeight) {
      element.scrollTop = 0;
      setScrollTop(0);
    }
  }, [rows.length, rowHeight]);

  const onScroll = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => setScrollTop(scroller.current?.scrollTop ?? 0));
  };

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / rowHeight) + OVERSCAN);
  const visible = rows.slice(first, last);
  const width = columns.reduce((sum, c) => sum + c.width, 0);

  return (
    <div ref={scroller} class="vt-scroll" style={{ height: `${height}px` }} onScroll={onScroll} tabIndex={0} role="region" aria-label={`${caption} (scrollable)`}>
      <table class="vt" style={{ minWidth: `${width}px` }} aria-rowcount={rows.length + 1}>
        <caption class="visually-hidden">{caption}</caption>
        <colgroup>
          {columns.map((c) => (
            <col key={c.key} style={{ width: `${c.width}px` }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            {columns.map((c) => {
              const sorted = sort?.key === c.key ? sort.direction : undefined;
              return (
                <th key={c.key} scope="col" class={c.numeric ? 'num' : undefined} aria-sort={sorted}>
                  {c.header ??
                    (c.sortable && onSort ? (
                      <button type="button" class="sort" onClick={() => onSort(c.key)}>
                        {c.label}
                        <span aria-hidden="true" class="sort-mark">
                          {sorted === 'ascending' ? ' ▲' : sorted === 'descending' ? ' ▼' : ' ↕'}
                        </span>
                      </button>
                    ) : (
                      c.label
                    ))}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {first > 0 && (
            <tr aria-hidden="true" class="vt-spacer" style={{ height: `${first * rowHeight}px` }}>
              <td colSpan={columns.length} />
            </tr>
          )}
          {visible.map((row, i) => (
            <tr key={rowKey(row)} aria-rowindex={first + i + 2} class={rowClass?.(row)} style={{ height: `${rowHeight}px` }}>
              {columns.map((c) => (
                <td key={c.key} class={c.numeric ? 'num' : undefined}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
          {last < rows.length && (
            <tr aria-hidden="true" class="vt-spacer" style={{ height: `${(rows.length - last) * rowHeight}px` }}>
              <td colSpan={columns.length} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

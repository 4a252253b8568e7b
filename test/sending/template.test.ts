import { fieldsUsed, renderTemplate, validateTemplate, type ContactFields } from '../../src/sending/template';

const contact = (over: Partial<ContactFields> = {}): ContactFields => ({
  email: 'ann@example.test',
  first_name: 'Ann',
  last_name: 'Lee',
  company: 'Acme',
  custom_fields: { plan: 'Pro', seats: 12 },
  ...over,
});

describe('renderTemplate', () => {
  it('fills standard and custom fields', () => {
    expect(renderTemplate('Hi {{first_name}} of {{ company }}, plan {{plan}} for {{seats}} seats', contact(), { seed: 's' })).toBe('Hi Ann of Acme, plan Pro for 12 seats');
  });

  it('uses the fallback when a field is empty or missing', () => {
    const empty = contact({ first_name: '  ', company: '', custom_fields: {} });
    expect(renderTemplate('Hi {{first_name|there}} at {{company|your team}}, {{plan|no plan}}', empty, { seed: 's' })).toBe('Hi there at your team, no plan');
  });

  it('renders an unfilled field without fallback as empty text', () => {
    expect(renderTemplate('[{{nickname}}]', contact(), { seed: 's' })).toBe('[]');
  });

  it('escapes contact values in HTML but keeps the template markup', () => {
    const hostile = contact({ first_name: '<script>alert(1)</script>', company: 'A&B "Co"' });
    expect(renderTemplate('<p>Hi {{first_name}} from {{company}}</p>', hostile, { seed: 's', html: true })).toBe(
      '<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; from A&amp;B &quot;Co&quot;</p>',
    );
  });

  it('chooses spintax options deterministically from the seed', () => {
    const template = '{Hi|Hello|Hey|Greetings} {{first_name}}, {quick|short|brief} {question|note}';
    const first = renderTemplate(template, contact(), { seed: '<m1@acme.test>' });
    for (let i = 0; i < 5; i++) expect(renderTemplate(template, contact(), { seed: '<m1@acme.test>' })).toBe(first);
    const outputs = new Set(Array.from({ length: 40 }, (_, i) => renderTemplate(template, contact(), { seed: `<m${i}@acme.test>` })));
    expect(outputs.size).toBeGreaterThan(5);
    for (const out of outputs) expect(out).toMatch(/^(Hi|Hello|Hey|Greetings) Ann, (quick|short|brief) (question|note)$/);
  });

  it('supports nested spintax and placeholders inside options', () => {
    const outputs = new Set(Array.from({ length: 60 }, (_, i) => renderTemplate('{Hi {{first_name|there}}|{Good morning|Good day}}!', contact(), { seed: String(i) })));
    expect([...outputs].sort()).toEqual(['Good day!', 'Good morning!', 'Hi Ann!']);
  });

  it('leaves brace groups without alternatives (CSS, JSON) as written', () => {
    const css = '<style>p { color: red; }</style>{"a": 1}';
    expect(renderTemplate(css, contact(), { seed: 's', html: true })).toBe(css);
  });

  it('never treats contact data as template syntax', () => {
    const tricky = contact({ first_name: '{{company}} {A|B}' });
    expect(renderTemplate('Hi {{first_name}}', tricky, { seed: 's' })).toBe('Hi {{company}} {A|B}');
  });
});

describe('validateTemplate', () => {
  it('reports a field used without fallback that some contacts lack, with a sample of them', () => {
    const contacts = [contact(), contact({ email: 'b@example.test', company: '' }), contact({ email: 'c@example.test', company: ' ' })];
    const issues = validateTemplate(['Subject for {{company}}', 'Hi {{first_name}}, {{plan|}}'], contacts);
    expect(issues).toEqual([
      expect.objectContaining({ code: 'missing_field', field: 'company', missingCount: 2, sampleEmails: ['b@example.test', 'c@example.test'] }),
    ]);
  });

  it('accepts fields that have a fallback or that every contact has', () => {
    const contacts = [contact(), contact({ email: 'b@example.test', first_name: '' })];
    expect(validateTemplate('Hi {{first_name|there}} from {{company}} on {{plan}}', contacts)).toEqual([]);
  });

  it('reports a custom field nobody has', () => {
    const issues = validateTemplate('Your {{favourite_color}}', [contact()]);
    expect(issues).toEqual([expect.objectContaining({ code: 'missing_field', field: 'favourite_color', missingCount: 1 })]);
  });


  it('lists the fields a template uses, including those inside spintax', () => {
    expect(fieldsUsed('{Hi {{first_name|there}}|Hello} {{company}}')).toEqual([
      { field: 'first_name', hasFallback: true },
      { field: 'company', hasFallback: false },
    ]);
  });
});

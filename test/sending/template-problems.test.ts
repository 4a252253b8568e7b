import { MessageBuildError, renderParts } from '../../src/sending/message-builder';
import { missingValues, templateProblems } from '../../src/sending/template-problems';

const codes = (text: string) => templateProblems(text).map((p) => `${p.severity} ${p.code} ${p.position.line}:${p.position.column}`);

describe('templateProblems', () => {
  it('reports an unclosed spintax with the position of its "{"', () => {
    expect(codes('{Hi|Hello} there,\n{Hi|Hello {{first_name|friend}}')).toEqual(['error unclosed_spintax 2:1']);
    expect(templateProblems('{Hi|Hello')[0]?.message).toBe('"{Hi|Hello" opens with "{" and is never closed with "}" (line 1, column 1)');
  });

  it('reports unclosed and malformed variables and a "}" that closes nothing', () => {
    expect(codes('Hi {{first_name')).toEqual(['error unclosed_variable 1:4']);
    expect(codes('Hi {{first name}} and {{}}')).toEqual(['error invalid_variable 1:4', 'error invalid_variable 1:23']);
    expect(codes('Hi {{first_name}}}!')).toEqual(['error unopened_brace 1:18']);
  });

  it('warns of empty spintax choices, which may be meant ("{very |}")', () => {
    expect(codes('{Hi||Hello} {very |}good')).toEqual(['warning empty_alternative 1:5', 'warning empty_alternative 1:20']);
  });

  it('finds nothing wrong in good templates, CSS or JSON in HTML', () => {
    expect(templateProblems('{Hi {{first_name|there}}|{Good morning|Good day}}! <style>p { color: red; }</style>{"a": 1}')).toEqual([]);
  });

  it('lists the variables a contact has no value for, only where there is no fallback', () => {
    const contact = { email: 'a@example.com', first_name: '', last_name: '', company: 'Acme', custom_fields: { plan: 'Pro' } };
    expect(missingValues('Hi {{first_name}} {{first_name|there}} of {{company}} on {{plan}}, {{ seats }}', contact).map((p) => `${p.variable} ${p.position.column}`)).toEqual(['first_name 4', 'seats 68']);
  });
});

describe('sending a step whose template has errors', () => {
  it('refuses to build the message rather than send "{Hi|Hello" literally', () => {
    const input = {
      step: { subject: '{Hi|Hello there', body_html: '', body_text: 'Body' },
      contact: { email: 'a@example.com', first_name: 'A', last_name: '', company: '', custom_fields: {} },
      queue: { id: 1, message_id: '<m1@example.com>', to_email: 'a@example.com' },
    } as unknown as Parameters<typeof renderParts>[0];
    expect(() => renderParts(input)).toThrow(MessageBuildError);
    expect(() => renderParts(input)).toThrow('template subject: "{Hi|Hello there" opens with "{" and is never closed with "}" (line 1, column 1)');
  });
});
